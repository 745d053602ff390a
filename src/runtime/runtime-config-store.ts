// Settings kubelet pushes with UpdateRuntimeConfig (today: the pod CIDR), kept on disk so a
// restarted berthd still knows them.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { isErrno } from "../errors.js";
import { writeJsonAtomic } from "../util/atomic-file.js";

interface Stored {
  version: 1;
  podCidr: string;
}

export class RuntimeConfigStore {
  private podCidrValue = "";
  private readonly listeners: ((cidr: string) => Promise<void>)[] = [];

  constructor(private readonly file: string) {}

  static async open(root: string): Promise<RuntimeConfigStore> {
    const store = new RuntimeConfigStore(path.join(root, "runtime-config.json"));
    try {
      const doc = JSON.parse(await fs.readFile(store.file, "utf8")) as Partial<Stored>;
      if (typeof doc.podCidr === "string") store.podCidrValue = doc.podCidr;
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
    }
    return store;
  }

  get podCidr(): string {
    return this.podCidrValue;
  }

  async setPodCidr(cidr: string): Promise<void> {
    if (cidr === this.podCidrValue) return;
    const doc: Stored = { version: 1, podCidr: cidr };
    await writeJsonAtomic(this.file, doc);
    this.podCidrValue = cidr;
    // UpdateRuntimeConfig answers once the new CIDR is in effect (the conflist rewritten).
    for (const l of this.listeners) await l(cidr);
  }

  onPodCidrChange(listener: (cidr: string) => Promise<void>): void {
    this.listeners.push(listener);
  }
}

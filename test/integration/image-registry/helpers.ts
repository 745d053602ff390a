// Shared setup for the registry integration tests: temp content stores and test-image pushes.
import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ContentStore } from "../../../src/image/content-store.js";
import { REGISTRY_BINARY } from "../../support/registry/registry-server.js";

export function registryMissing(): string | undefined {
  return existsSync(REGISTRY_BINARY) ? undefined : `${REGISTRY_BINARY} is not installed`;
}

export class TempStores {
  private readonly dirs: string[] = [];
  async create(): Promise<ContentStore> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-content-"));
    this.dirs.push(dir);
    return ContentStore.open(dir);
  }
  async cleanup(): Promise<void> {
    for (const d of this.dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  }
}

/** Files under the store's ingest directory (should be none after any fetch, good or bad). */
export async function ingestLeftovers(store: ContentStore): Promise<string[]> {
  return fs.readdir(store.ingestDir);
}

// The one client of the benchmark: the conformance kit's crictl, run against either runtime's
// socket, with the pod and container configs it reads (CRI JSON, enums as numbers).
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../../src/repo-root.js";

/** The conformance kit's crictl beside the checkout (as `make conformance` finds the kit). */
export const CRICTL =
  process.env["CRICTL"] ?? path.join(repoRoot(), "..", "shared", "conformance", "bin", "crictl");

/** CRI NamespaceMode as crictl's JSON wants it. */
const NS_POD = 0;
const NS_CONTAINER = 1;

export class Crictl {
  private constructor(
    readonly endpoint: string,
    private readonly configFile: string,
  ) {}

  /** A client of `socket`; its crictl.yaml goes to `dir` (no /etc/crictl.yaml lookup). */
  static async create(socket: string, dir: string): Promise<Crictl> {
    const endpoint = `unix://${socket}`;
    const configFile = path.join(dir, "crictl.yaml");
    // crictl's --timeout bounds every RPC (default 2 s): a 70 MB pull or removing 100 pods takes
    // longer. Images are pulled explicitly, never by create.
    const yaml = [
      `runtime-endpoint: ${endpoint}`,
      `image-endpoint: ${endpoint}`,
      "timeout: 600",
      "pull-image-on-create: false",
      "",
    ].join("\n");
    await fs.writeFile(configFile, yaml);
    return new Crictl(endpoint, configFile);
  }

  /** Runs crictl with `args`; resolves with its trimmed stdout, rejects with its stderr. */
  run(args: readonly string[]): Promise<string> {
    const full = [
      "--config",
      this.configFile,
      "--runtime-endpoint",
      this.endpoint,
      "--image-endpoint",
      this.endpoint,
      ...args,
    ];
    return new Promise((resolve, reject) => {
      execFile(CRICTL, full, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`crictl ${args.join(" ")} (${this.endpoint}): ${stderr || err.message}`),
          );
          return;
        }
        resolve(stdout.trim());
      });
    });
  }

  /** `run`, with the wall time of the whole crictl invocation (its own start included). */
  async timed(args: readonly string[]): Promise<{ ms: number; out: string }> {
    const t0 = process.hrtime.bigint();
    const out = await this.run(args);
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
  }

  /** Stops and removes every pod (and so its containers). */
  async removeAllPods(): Promise<void> {
    const ids = (await this.run(["pods", "-q"])).split("\n").filter((s) => s !== "");
    if (ids.length === 0) return;
    await this.run(["stopp", ...ids]);
    await this.run(["rmp", ...ids]);
  }
}

export interface PodFiles {
  pod: string;
  container: string;
}

/**
 * Writes the pod and container config of pod `name` (as kubelet would send them: its own
 * cgroup parent, pid namespace per container, net and IPC per pod) and returns their paths.
 */
export async function writePodFiles(opts: {
  dir: string;
  name: string;
  image: string;
  cgroupParent: string;
  logDir: string;
}): Promise<PodFiles> {
  const uid = `${opts.name}-${process.hrtime.bigint().toString(36)}`;
  const pod = {
    metadata: { name: opts.name, namespace: "vsbench", uid, attempt: 0 },
    hostname: opts.name,
    log_directory: path.join(opts.logDir, opts.name),
    labels: { app: opts.name },
    linux: {
      cgroup_parent: opts.cgroupParent,
      security_context: {
        namespace_options: { network: NS_POD, pid: NS_CONTAINER, ipc: NS_POD },
      },
    },
  };
  const container = {
    metadata: { name: "app", attempt: 0 },
    image: { image: opts.image },
    command: ["/bin/sleep", "3600"],
    log_path: "app.log",
    linux: {},
  };
  const files = {
    pod: path.join(opts.dir, `${opts.name}.pod.json`),
    container: path.join(opts.dir, `${opts.name}.ctr.json`),
  };
  await fs.writeFile(files.pod, JSON.stringify(pod));
  await fs.writeFile(files.container, JSON.stringify(container));
  return files;
}

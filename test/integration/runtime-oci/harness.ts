// Creates containers under conmon + runc for the integration tests and undoes everything they
// made: runtime records, conmon processes (by pid), cgroup dirs, temp dirs.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner } from "../../../src/util/command.js";
import { removeCgroupPath } from "../../../src/cgroup/remove.js";
import {
  createContainer,
  processAlive,
  type CreatedContainer,
} from "../../../src/runtime/oci/conmon.js";
import { ProcessConmonLauncher } from "../../../src/runtime/oci/conmon-launcher.js";
import { OciRuntime } from "../../../src/runtime/oci/oci-runtime.js";
import { CONMON, RUNC, makeBundle, mountsUnder, randomId, type BundleOptions } from "./fixture.js";

export interface TestContainer extends CreatedContainer {
  id: string;
  bundle: string;
  logPath: string;
  persistDir: string;
  cgroupsPath: string;
}

export class Harness {
  readonly runner = new ProcessRunner();
  readonly runtime: OciRuntime;
  readonly cgroupParent = `/berth-test-${randomId("")}`;
  private readonly containers: TestContainer[] = [];

  private constructor(
    readonly dir: string,
    runtimePath = RUNC,
  ) {
    this.runtime = new OciRuntime(
      { name: "runc", path: runtimePath, root: path.join(dir, "runtime-root") },
      this.runner,
      { tmpDir: path.join(dir, "tmp") },
    );
  }

  static async create(): Promise<Harness> {
    return new Harness(await mkdtemp(path.join(os.tmpdir(), "berth-oci-")));
  }

  get exitDir(): string {
    return path.join(this.dir, "exits");
  }

  /** Writes a bundle and creates (not starts) the container under conmon. */
  async create(
    bundleOpts: Omit<BundleOptions, "cgroupsPath">,
    id = randomId(),
  ): Promise<TestContainer> {
    const cgroupsPath = `${this.cgroupParent}/${id}`;
    const bundle = await makeBundle(path.join(this.dir, "bundles", id), {
      ...bundleOpts,
      cgroupsPath,
    });
    const persistDir = path.join(this.dir, "containers", id);
    const logPath = path.join(this.dir, "logs", `${id}.log`);
    await mkdir(path.dirname(logPath), { recursive: true });
    const record: TestContainer = {
      id,
      bundle,
      logPath,
      persistDir,
      cgroupsPath,
      pid: 0,
      conmonPid: 0,
      containerPidFile: "",
      conmonPidFile: "",
    };
    this.containers.push(record);
    const created = await createContainer(
      this.runtime,
      {
        id,
        bundle,
        logPath,
        exitDir: this.exitDir,
        persistDir,
        socketDir: path.join(this.dir, "attach"),
      },
      { conmonPath: CONMON, launcher: new ProcessConmonLauncher(), logger: silentLogger() },
    );
    Object.assign(record, created);
    return record;
  }

  /** Registers a container made elsewhere (e.g. by a child process) for cleanup. */
  track(c: TestContainer): void {
    this.containers.push(c);
  }

  /** Everything a test made goes, pass or fail. */
  async cleanup(): Promise<void> {
    for (const c of this.containers.splice(0)) {
      await this.runtime.delete(c.id, true).catch(() => undefined);
      if (c.conmonPid > 0 && processAlive(c.conmonPid)) {
        try {
          process.kill(c.conmonPid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await removeCgroupPath(c.cgroupsPath).catch(() => undefined);
    }
    await removeCgroupPath(this.cgroupParent).catch(() => undefined);
  }

  async destroy(): Promise<string[]> {
    await this.cleanup();
    const left = await mountsUnder(this.dir);
    await rm(this.dir, { recursive: true, force: true });
    return left;
  }
}

// Pod sandboxes: the namespaces, cgroup parent, network and shared files of a pod. A pod that
// shares one PID namespace (or every pod, with drop_infra_ctr = false) has them held by an infra
// process (catatonit) that the OCI runtime runs under conmon like any container; the others have
// no process at all: their namespaces are pinned files (pod-namespaces.ts).
// Each operation reads: look up → check the state → act → save → answer.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FailedPreconditionError } from "../../errors.js";
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { type HostVeth, hostVethOf } from "../../network/host-veth.js";
import { createNetns, removeNetns } from "../../network/netns.js";
import { KeyedRwLock } from "../../store/keyed-rw-lock.js";
import { nowNs } from "../../util/time.js";
import { settleAll } from "../../util/settle-all.js";
import type { StepTimer } from "../../util/step-timer.js";
import { CleanupStack } from "../cleanup-stack.js";
import { podCgroupsPath } from "../../cgroup/cgroup-paths.js";
import type { ExitEvent } from "../oci/exit-watcher.js";
import { processStartTime } from "../../util/proc-identity.js";
import type { SandboxDeps } from "../runtime-context.js";
import { RuntimePaths } from "../paths.js";
import {
  type SandboxRecord,
  hasInfra,
  infraExited,
  infraRunning,
  sandboxFullName,
  sandboxReady,
  sandboxStopped,
} from "../records.js";
import { loadLocalhostSeccompProfiles, localhostSeccompPath } from "../spec/prepare.js";
import { newId } from "../../store/id-index.js";
import { SC_FIELD, validateSandboxConfig } from "./sandbox-config.js";
import { killInfra, startInfra } from "./infra-container.js";
import { berthOwnsPodCgroup, podCgroupParent, removePodCgroups } from "./pod-cgroup.js";
import { podNetworkRequest } from "./pod-network.js";
import {
  type PodContainers,
  networkGoesWithNetns,
  releasePodMounts,
  releasePodNetwork,
  removeLeftoverVeth,
} from "./pod-teardown.js";
import { mountShm, podFilePaths, unmountIfMounted, writePodFiles } from "./pod-files.js";
import { hostsFile } from "./pod-files.js";
import * as os from "node:os";
import { validateSysctls } from "../spec/sysctls.js";
import { makeCgroupPath } from "../../cgroup/make.js";
import {
  type PodNamespaceFiles,
  applyPodSysctls,
  needsInfra,
  pinPodNamespaces,
  podNamespaceFiles,
  realDirOnce,
  releasePodNamespaces,
} from "./pod-namespaces.js";

export class SandboxService {
  /**
   * Per pod: making, stopping and removing it hold it alone; creating and starting containers
   * in it share it (withPodShared), so no container is made in a pod being torn down.
   */
  private readonly locks = new KeyedRwLock();
  /** Sandboxes inside StopPodSandbox: their infra's exit is that call's, not news to publish. */
  private readonly stopping = new Set<string>();

  constructor(private readonly ctx: SandboxDeps) {}

  /** The OCI cgroupsPath for a process of the pod (the infra or a container). */
  cgroupsPath(parent: string, id: string): string {
    return podCgroupsPath(this.ctx.config.cgroup_driver, parent, id);
  }

  private async removeCgroups(parent: string, id: string): Promise<void> {
    await removePodCgroups(this.ctx.config.cgroup_driver, parent, id, this.ctx.log);
  }

  /**
   * Without an infra nothing else makes berth's default pod cgroup: berth does, so the pod's
   * stats have a cgroup from the start (pod-cgroup.ts).
   */
  private async makePodCgroup(parent: string, id: string, undo: CleanupStack): Promise<void> {
    if (!berthOwnsPodCgroup(this.ctx.config.cgroup_driver, parent, id)) return;
    undo.push("remove pod cgroups", () => this.removeCgroups(parent, id));
    await makeCgroupPath(parent);
  }

  /**
   * Runs `fn` with the pod's lock shared and the pod's record as it is then: a StopPodSandbox or
   * RemovePodSandbox that came first has finished (so `fn` must check the state it needs), one
   * that comes later waits for `fn`.
   */
  async withPodShared<T>(sandboxId: string, fn: (rec: SandboxRecord) => Promise<T>): Promise<T> {
    return this.locks.shared(sandboxId, async () => {
      const rec = this.ctx.sandboxes.get(sandboxId);
      if (!rec) throw new FailedPreconditionError(`pod sandbox ${sandboxId} was removed`);
      return fn(rec);
    });
  }

  isReady(rec: SandboxRecord): boolean {
    return sandboxReady(rec);
  }

  /**
   * The one place a sandbox's infra is marked gone: its exit file (through the exit watcher),
   * or recovery / the monitor check when the runtime says the infra no longer runs. A death
   * outside StopPodSandbox is published (GetContainerEvents) so kubelet learns of it at once.
   */
  async onInfraExit(e: ExitEvent, why = "pod infra exited"): Promise<void> {
    const rec = this.ctx.sandboxes.get(e.id);
    if (!rec || infraExited(rec)) return;
    const at = e.finishedAt > 0n ? e.finishedAt : nowNs();
    await this.ctx.sandboxes.update(e.id, (r) => {
      if (!infraExited(r)) r.infraExitedAt = at;
    });
    if (!sandboxStopped(rec) && !this.stopping.has(e.id)) {
      this.ctx.log.warn({ pod_sandbox_id: e.id, exitCode: e.exitCode }, why);
      this.ctx.events.publish(e.id, e.id, "CONTAINER_STOPPED_EVENT");
    }
  }

  /** The request's config checked against this host (INVALID_ARGUMENT naming the field). */
  validate(config: PodSandboxConfig__Output | null): PodSandboxConfig__Output {
    return validateSandboxConfig(config, {
      ...this.ctx.hostFeatures,
      cgroupDriver: this.ctx.config.cgroup_driver,
    });
  }

  async run(config: PodSandboxConfig__Output | null, runtimeHandler: string): Promise<string> {
    const steps = this.ctx.metrics.steps.begin("RunPodSandbox");
    const cfg = this.validate(config);
    const handler = this.ctx.handlers.resolve(runtimeHandler);
    // The infra process runs under the pod's seccomp profile; a Localhost one is read (and
    // found missing) before anything is made.
    const localhost = await loadLocalhostSeccompProfiles(
      [localhostSeccompPath(cfg.linux?.security_context ?? null, SC_FIELD)].filter(
        (p): p is string => p !== undefined,
      ),
      SC_FIELD,
    );
    const id = newId();
    const name = sandboxFullName(cfg);
    this.ctx.sandboxNames.reserve(name, id);
    steps.mark("validate");
    const log = this.ctx.log.child({ pod_sandbox_id: id, pod: name });
    const undo = new CleanupStack(log);
    undo.push("release name", async () => this.ctx.sandboxNames.release(name));
    try {
      const rec = await this.locks.exclusive(id, () =>
        this.build(id, name, cfg, handler.name, localhost, undo, steps),
      );
      undo.commit();
      steps.end();
      log.info({ ips: rec.ips, handler: handler.name }, "pod sandbox ready");
      return id;
    } catch (err) {
      await undo.unwind();
      throw err;
    }
  }

  private async build(
    id: string,
    name: string,
    cfg: PodSandboxConfig__Output,
    handlerName: string,
    localhostSeccomp: Record<string, string>,
    undo: CleanupStack,
    steps: StepTimer,
  ): Promise<SandboxRecord> {
    const { paths, runner } = this.ctx;
    const nsOpts = cfg.linux?.security_context?.namespace_options ?? null;
    const hostNetwork = nsOpts?.network === "NODE";
    const hostIpc = nsOpts?.ipc === "NODE";
    const infra = needsInfra(nsOpts, this.ctx.config.drop_infra_ctr);
    const podDir = paths.pod(id);
    await fs.mkdir(podDir, { recursive: true, mode: 0o711 });
    undo.push("remove pod dir", () => fs.rm(podDir, { recursive: true, force: true }));
    const files = podFilePaths(podDir);
    const hostname =
      cfg.hostname !== "" ? cfg.hostname : hostNetwork ? os.hostname() : name.slice(0, 63);
    let netnsPath = "";
    let ips: string[] = [];
    let hostVeth: HostVeth | undefined;
    let nsFiles: PodNamespaceFiles = {};
    // The pod's files and shm mount, and (without an infra) its pinned namespaces, are
    // independent: made at once, each undone if the other fails (settleAll waits for both).
    const podFiles = async (): Promise<void> => {
      if (!hostIpc) undo.push("unmount shm", () => unmountIfMounted(files.shm, runner));
      await settleAll([
        writePodFiles(files, { hostname, ips: [], dns: cfg.dns_config }),
        hostIpc ? Promise.resolve() : mountShm(files.shm, runner),
      ]);
    };
    const namespaces = async (): Promise<void> => {
      if (infra) return;
      // By its real path, as createNetns names netns files.
      const netnsFile = path.join(await realDirOnce(paths.netnsDir), RuntimePaths.netnsName(id));
      nsFiles = podNamespaceFiles(nsOpts, netnsFile, podDir);
      undo.push("release namespaces", () => releasePodNamespaces(runner, nsFiles));
      await pinPodNamespaces(runner, nsFiles, hostname);
      netnsPath = nsFiles.net ?? "";
    };
    await settleAll([podFiles(), namespaces()]);
    steps.mark(infra ? "pod-files" : "pod-files-namespaces");
    if (!infra) await this.ctx.testPause("sandbox-namespaces", { pod_sandbox_id: id });
    const network = async (): Promise<void> => {
      if (hostNetwork) return;
      if (infra) {
        netnsPath = await createNetns(runner, paths.netnsDir, RuntimePaths.netnsName(id));
        undo.push("remove netns", () => removeNetns(runner, netnsPath));
        steps.mark("netns");
      }
      const podReq = podNetworkRequest(cfg, id, netnsPath);
      const net = await this.ctx.cni.setupPodNetwork(podReq);
      undo.push("CNI DEL", () => this.ctx.cni.teardownPodNetwork(podReq));
      ips = net.ips;
      hostVeth = await hostVethOf(net.interfaces);
      await fs.writeFile(files.hosts, hostsFile(hostname, ips));
      steps.mark("network");
      await this.ctx.testPause("sandbox-network", { pod_sandbox_id: id });
    };
    const cgroupParent = podCgroupParent(cfg, id);
    // Without an infra, the pod cgroup is berth's to make, and it needs nothing of CNI's: it is
    // made while the plugins run (the infra's runtime makes its own, after the network).
    if (infra) await network();
    else await settleAll([network(), this.makePodCgroup(cgroupParent, id, undo)]);

    const common = {
      version: 1 as const,
      id,
      name,
      config: cfg,
      runtimeHandler: handlerName,
      stoppedAt: 0n,
      infraExitedAt: 0n,
      hostNetwork,
      netnsPath,
      ...(hostVeth ? { hostVeth } : {}),
      ips,
      networkAttached: !hostNetwork,
      cgroupParent,
      files,
    };
    if (!infra) {
      // Sysctls are written inside the namespaces once CNI has made the interfaces some of them
      // name.
      await applyPodSysctls(runner, nsFiles, validateSysctls(cfg.linux?.sysctls ?? {}, nsOpts));
      steps.mark("sysctls");
      await this.ctx.testPause("run-pod-sandbox", { pod_sandbox_id: id });
      const rec: SandboxRecord = {
        ...common,
        infra: false,
        nsFiles: {
          ...(nsFiles.ipc ? { ipc: nsFiles.ipc } : {}),
          ...(nsFiles.uts ? { uts: nsFiles.uts } : {}),
        },
        createdAt: nowNs(),
        infraPid: 0,
      };
      await this.ctx.sandboxes.put(rec);
      steps.mark("record");
      return rec;
    }
    const created = await startInfra(this.ctx, {
      id,
      name,
      config: cfg,
      handlerName,
      podDir,
      cgroupsPath: this.cgroupsPath(cgroupParent, id),
      netnsPath,
      hostname,
      ...(hostIpc ? {} : { shmPath: files.shm }),
      localhostSeccomp,
      undo,
      steps,
      removeCgroups: () => this.removeCgroups(cgroupParent, id),
    });
    await this.ctx.testPause("run-pod-sandbox", { pod_sandbox_id: id });

    const rec: SandboxRecord = {
      ...common,
      createdAt: nowNs(),
      infraPid: created.pid,
      infraStartTime: await processStartTime(created.pid),
      conmonPid: created.conmonPid,
      conmonStartTime: await processStartTime(created.conmonPid),
    };
    await this.ctx.sandboxes.put(rec);
    steps.mark("record");
    return rec;
  }

  /**
   * Stops every container of the pod, the infra process, and releases the network. Safe to
   * repeat, and for unknown ids.
   */
  async stop(idOrPrefix: string, pod: PodContainers): Promise<void> {
    const found = this.ctx.sandboxes.find(idOrPrefix);
    if (!found) return;
    await this.locks.exclusive(found.id, async () => {
      const rec = this.ctx.sandboxes.get(found.id);
      if (!rec) return;
      this.stopping.add(rec.id);
      const steps = this.ctx.metrics.steps.begin("StopPodSandbox");
      const killAndRelease = () => pod.kill(rec.id).then(() => pod.release(rec.id));
      try {
        if (hasInfra(rec)) {
          // The containers go before the infra: killing the pod's PID 1 first would kill them
          // with it, and their exits would read as the pod's doing.
          await killAndRelease();
          steps.mark("containers");
          await this.stopInfra(rec);
          steps.mark("infra");
          await this.ctx.testPause("stop-pod-sandbox", { pod_sandbox_id: rec.id });
          await releasePodNetwork(this.ctx, rec);
          steps.mark("network");
          await releasePodMounts(this.ctx, rec);
          steps.mark("mounts");
        } else {
          // No process holds the namespaces: the pod is recorded as ended first (a crash from
          // here on leaves it NOTREADY), then its containers are killed (timeout 0).
          await this.stopInfra(rec);
          steps.mark("infra");
          await this.ctx.testPause("stop-pod-sandbox", { pod_sandbox_id: rec.id });
          if (await networkGoesWithNetns(this.ctx, rec)) {
            // The namespaces go before CNI DEL, while the containers are killed: the kernel
            // drops the veth with the netns once their last process is gone, and DEL only
            // gives the address back. A veth still there after that is deleted.
            const network = async () => {
              await releasePodMounts(this.ctx, rec);
              await this.ctx.testPause("stop-pod-network", { pod_sandbox_id: rec.id });
              await releasePodNetwork(this.ctx, rec);
            };
            await settleAll([killAndRelease(), network()]);
            steps.mark("containers-mounts-network");
            await removeLeftoverVeth(this.ctx, rec);
            steps.mark("veth");
          } else {
            // CNI DEL needs the netns: it runs while the containers are killed, which need
            // the network no more; the namespaces go after it.
            await settleAll([killAndRelease(), releasePodNetwork(this.ctx, rec)]);
            steps.mark("containers-network");
            await releasePodMounts(this.ctx, rec);
            steps.mark("mounts");
          }
        }
        if (!sandboxStopped(rec)) {
          await this.ctx.sandboxes.update(rec.id, (r) => {
            r.stoppedAt = nowNs();
          });
        }
        steps.end();
      } finally {
        this.stopping.delete(rec.id);
      }
    });
  }

  private async stopInfra(rec: SandboxRecord): Promise<void> {
    const cur = this.ctx.sandboxes.get(rec.id) ?? rec;
    if (!hasInfra(cur)) {
      // No process to kill: the pod's end is recorded before its namespaces are released, as
      // an infra's exit is, so a crash from here on leaves it NOTREADY, never half-READY.
      await this.onInfraExit({ id: rec.id, exitCode: 0, finishedAt: nowNs() });
      return;
    }
    if (infraRunning(cur)) await this.onInfraExit(await killInfra(this.ctx, rec));
  }

  /** Removes a stopped (or stops then removes) sandbox; unknown ids succeed. */
  async remove(idOrPrefix: string, pod: PodContainers): Promise<void> {
    const found = this.ctx.sandboxes.find(idOrPrefix);
    if (!found) return;
    const steps = this.ctx.metrics.steps.begin("RemovePodSandbox");
    await this.stop(found.id, pod);
    steps.mark("stop");
    await this.locks.exclusive(found.id, async () => {
      const rec = this.ctx.sandboxes.get(found.id);
      if (!rec) return;
      await pod.remove(rec.id);
      steps.mark("containers");
      if (hasInfra(rec)) await this.ctx.ociRuntime(rec.runtimeHandler).delete(rec.id, true);
      steps.mark("runtime-delete");
      await this.ctx.testPause("remove-pod-sandbox", { pod_sandbox_id: rec.id });
      await this.removeCgroups(rec.cgroupParent, rec.id);
      steps.mark("cgroups");
      // The shm mount is inside the pod dir: it goes first; the three files then go at once.
      await unmountIfMounted(rec.files.shm, this.ctx.runner);
      await settleAll([
        fs.rm(this.ctx.paths.pod(rec.id), { recursive: true, force: true }),
        fs.rm(path.join(this.ctx.paths.exitDir, rec.id), { force: true }),
        fs.rm(this.ctx.paths.socketLink(rec.id), { force: true }),
      ]);
      await this.ctx.sandboxes.delete(rec.id);
      this.ctx.sandboxNames.release(rec.name);
      steps.end("files");
    });
  }
}

export function requireReady(rec: SandboxRecord, ready: boolean): void {
  if (!ready) {
    throw new FailedPreconditionError(
      `pod sandbox ${rec.id} is not ready (stopped or its infra process exited)`,
    );
  }
}

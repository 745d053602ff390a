// Creating a container: its rootfs (overlayfs over the image's snapshots with a writable layer of
// its own), its OCI spec (built by the pure builders in ../spec from the image config and the CRI
// configs), and its conmon, which leaves it CREATED.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FailedPreconditionError, InvalidArgumentError } from "../../errors.js";
import type { ContainerConfig__Output } from "../../gen/runtime/v1/ContainerConfig.js";
import { mountOverlay, unmount } from "../../image/overlay-mount.js";
import { lexicalJoin } from "../../util/secure-join.js";
import { settleAll } from "../../util/settle-all.js";
import { waitProcessGone } from "../../util/process-wait.js";
import { nowNs } from "../../util/time.js";
import { CleanupStack } from "../cleanup-stack.js";
import type { StepTimer } from "../../util/step-timer.js";
import { createContainer } from "../oci/conmon.js";
import { processStartTime } from "../../util/proc-identity.js";
import type { ContainerRecord, SandboxRecord } from "../records.js";
import type { ContainerImage } from "./image-lookup.js";
import { containerFullName } from "../records.js";
import type { ContainerCreateDeps } from "../runtime-context.js";
import { buildContainerSpec } from "../spec/container-spec.js";
import type { SandboxInfo } from "../spec/context.js";
import { mountDestinationsToResolve } from "../spec/mounts.js";
import { ensureHostPath } from "../spec/host-path.js";
import {
  createImageVolumeDirs,
  listHostDevices,
  loadLocalhostSeccompProfiles,
  localhostSeccompPath,
  readImageUserFiles,
  resolveDevices,
  resolveMountDestinations,
} from "../spec/prepare.js";
import { checkRunAsGroup } from "../spec/user.js";
import { newId } from "../../store/id-index.js";
import { validateContainerFields } from "../../validate/container-config.js";
import type { ResourceHost } from "../../validate/resources.js";

const SC_FIELD = "config.linux.security_context";

export function validateContainerConfig(
  config: ContainerConfig__Output | null,
  host: ResourceHost,
): ContainerConfig__Output {
  if (!config) throw new InvalidArgumentError("config", "a container config is required");
  validateContainerFields(config, host);
  checkRunAsGroup(config.linux?.security_context ?? null, SC_FIELD);
  return config;
}

/**
 * The host path of the container's log: kubelet's log_directory joined with log_path, cleaned
 * so it cannot leave the pod's log directory (CVE-2025-0750). "" when kubelet gave none.
 */
export function containerLogPath(sandbox: SandboxRecord, config: ContainerConfig__Output): string {
  const dir = sandbox.config.log_directory;
  if (config.log_path === "") return "";
  if (dir === "") {
    throw new InvalidArgumentError(
      "config.log_path",
      "set, but the pod sandbox has no log_directory",
    );
  }
  return lexicalJoin(dir, config.log_path);
}

export function sandboxInfo(s: SandboxRecord): SandboxInfo {
  return {
    id: s.id,
    pid: s.infraPid,
    namespacePaths: {
      ...(s.netnsPath !== "" ? { net: s.netnsPath } : {}),
      ...(s.nsFiles?.ipc !== undefined ? { ipc: s.nsFiles.ipc } : {}),
      ...(s.nsFiles?.uts !== undefined ? { uts: s.nsFiles.uts } : {}),
    },
    hostname: s.config.hostname,
    resolvConfPath: s.files.resolvConf,
    hostsPath: s.files.hosts,
    hostnamePath: s.files.hostname,
    ...(s.config.linux?.security_context?.namespace_options?.ipc === "NODE"
      ? {}
      : { shmPath: s.files.shm }),
    cgroupParent: s.cgroupParent,
  };
}

export async function createContainerInSandbox(
  ctx: ContainerCreateDeps,
  sandbox: SandboxRecord,
  cfg: ContainerConfig__Output,
  cgroupsPath: (parent: string, id: string) => string,
  targetPid: (targetId: string) => number | undefined,
): Promise<ContainerRecord> {
  const steps = ctx.metrics.steps.begin("CreateContainer");
  const image = await ctx.images.forContainer(cfg.image!.image);
  steps.mark("image");
  try {
    return await createWithImage(ctx, sandbox, cfg, image, cgroupsPath, targetPid, steps);
  } finally {
    // Written or undone: the record (or nothing) keeps the snapshots from here on.
    image.release();
  }
}

async function createWithImage(
  ctx: ContainerCreateDeps,
  sandbox: SandboxRecord,
  cfg: ContainerConfig__Output,
  image: ContainerImage,
  cgroupsPath: (parent: string, id: string) => string,
  targetPid: (targetId: string) => number | undefined,
  steps: StepTimer,
): Promise<ContainerRecord> {
  const id = newId();
  const name = containerFullName(cfg.metadata!.name, cfg.metadata!.attempt, sandbox.config);
  ctx.containerNames.reserve(name, id);
  const log = ctx.log.child({ container_id: id, container: name });
  const undo = new CleanupStack(log);
  undo.push("release name", async () => ctx.containerNames.release(name));
  try {
    const { paths, runner } = ctx;
    // Everything that can reject the request is checked before anything is made: a request
    // that fails validation leaves no mount or bundle to undo.
    const sbInfo = sandboxInfo(sandbox);
    const sc = cfg.linux?.security_context ?? null;
    const seccompPaths = [localhostSeccompPath(sc, SC_FIELD)].filter(
      (p): p is string => p !== undefined,
    );
    const logPath = containerLogPath(sandbox, cfg);
    const privileged = sc?.privileged ?? false;
    let target: number | undefined;
    if (sc?.namespace_options?.pid === "TARGET") {
      target = targetPid(sc.namespace_options.target_id);
      if (target === undefined) {
        throw new FailedPreconditionError(
          `target container ${sc.namespace_options.target_id} of the pid namespace is not running`,
        );
      }
    }
    const [devices, localhost, hostDevices] = await settleAll([
      resolveDevices(cfg.devices),
      loadLocalhostSeccompProfiles(seccompPaths, SC_FIELD),
      privileged ? listHostDevices() : Promise.resolve(undefined),
    ]);
    for (const [i, m] of cfg.mounts.entries()) {
      if (!m.host_path.startsWith("/")) continue; // the spec builder names the fault
      const made = await ensureHostPath(m.host_path, `config.mounts[${i}].host_path`);
      if (made.length > 0) log.info({ created: made }, "created missing hostPath directories");
    }
    steps.mark("validate");

    const bundle = paths.containerBundle(id);
    const rootfs = paths.containerRootfs(id);
    const layer = paths.containerLayer(id);
    // The undos come first (removing what is not there is no error): the three dirs are made
    // at once, and any of them may exist when one fails.
    undo.push("remove bundle", () => fs.rm(paths.container(id), { recursive: true, force: true }));
    undo.push("remove layer", () => fs.rm(layer, { recursive: true, force: true }));
    await settleAll([
      fs.mkdir(rootfs, { recursive: true, mode: 0o755 }),
      fs.mkdir(path.join(layer, "upper"), { recursive: true, mode: 0o755 }),
      fs.mkdir(path.join(layer, "work"), { recursive: true, mode: 0o700 }),
    ]);
    await mountOverlay({
      lowerDirs: image.lowerDirs,
      upperDir: path.join(layer, "upper"),
      workDir: path.join(layer, "work"),
      target: rootfs,
      runner,
    });
    undo.push("unmount rootfs", () => unmount(rootfs, runner));
    steps.mark("rootfs");

    // Both read inside the rootfs: both settle before a failure unmounts it.
    const [mountDestinations, userFiles] = await settleAll([
      resolveMountDestinations(rootfs, mountDestinationsToResolve(cfg, sbInfo)),
      readImageUserFiles(rootfs),
    ]);
    await createImageVolumeDirs(
      rootfs,
      image.config,
      cfg.mounts.map((m) => m.container_path),
    );
    const cgroupPath = cgroupsPath(sandbox.cgroupParent, id);
    const { spec, warnings } = buildContainerSpec({
      config: cfg,
      sandboxConfig: sandbox.config,
      image: image.config,
      ctx: {
        containerId: id,
        rootfsPath: rootfs,
        cgroupPath,
        sandbox: sbInfo,
        imageName: cfg.image!.image,
        ...(target !== undefined ? { targetPid: target } : {}),
        ...userFiles,
        mountDestinations,
        devices,
        ...(hostDevices !== undefined ? { hostDevices } : {}),
        seccomp: { localhost },
        hostHas: ctx.hostFeatures,
        oomScoreAdjMin: ctx.oomScoreAdjMin,
        allCapabilities: ctx.allCapabilities,
      },
    });
    for (const w of warnings) log.info({ warning: w }, "container spec");
    const conmonLog = logPath !== "" ? logPath : path.join(paths.container(id), "console.log");
    await settleAll([
      fs.writeFile(path.join(bundle, "config.json"), JSON.stringify(spec)),
      fs.mkdir(path.dirname(conmonLog), { recursive: true, mode: 0o755 }),
    ]);
    steps.mark("spec");

    const runtime = ctx.ociRuntime(sandbox.runtimeHandler);
    undo.push("remove socket link", () => fs.rm(paths.socketLink(id), { force: true }));
    const created = await createContainer(
      runtime,
      {
        id,
        name,
        bundle,
        logPath: conmonLog,
        exitDir: paths.exitDir,
        persistDir: paths.containerPersist(id),
        socketDir: paths.socketDir,
        terminal: cfg.tty,
        stdin: cfg.stdin,
        stdinOnce: cfg.stdin_once,
      },
      { conmonPath: ctx.config.conmon_path, launcher: ctx.launcher, logger: ctx.log },
    );
    steps.mark("create");
    undo.push("delete container", async () => {
      await runtime.delete(id, true);
      // conmon writes the exit file as it leaves: wait for it, then remove the file.
      await waitProcessGone(created.conmonPid, 2000);
      await fs.rm(path.join(paths.exitDir, id), { force: true });
    });
    await ctx.testPause("create-container", { container_id: id });
    const [pidStartTime, conmonStartTime] = await settleAll([
      processStartTime(created.pid),
      processStartTime(created.conmonPid),
    ]);

    const rec: ContainerRecord = {
      version: 1,
      id,
      sandboxId: sandbox.id,
      name,
      config: cfg,
      imageName: cfg.image!.image,
      imageId: image.id,
      imageRef: image.ref,
      topChainId: image.topChainId,
      runtimeHandler: sandbox.runtimeHandler,
      logPath,
      createdAt: nowNs(),
      startedAt: 0n,
      finishedAt: 0n,
      exitCode: 0,
      reason: "",
      message: "",
      pid: created.pid,
      pidStartTime,
      conmonPid: created.conmonPid,
      conmonStartTime,
      resources: cfg.linux?.resources ?? null,
      cgroupPath,
      startError: "",
      stopSignal: stopSignalOf(cfg, image.config.StopSignal),
      user: {
        uid: spec.process.user.uid,
        gid: spec.process.user.gid,
        additionalGids: spec.process.user.additionalGids ?? [],
      },
    };
    await ctx.containers.put(rec);
    steps.mark("record");
    undo.commit();
    ctx.events.publish(rec.id, rec.sandboxId, "CONTAINER_CREATED_EVENT");
    log.info({ image: rec.imageName }, "container created");
    steps.end();
    return rec;
  } catch (err) {
    await undo.unwind();
    throw err;
  }
}

/** The signal StopContainer sends first: the config's, else the image's, else SIGTERM. */
export function stopSignalOf(
  cfg: ContainerConfig__Output,
  imageSignal: string | undefined,
): string {
  if (cfg.stop_signal !== "SIGNAL_RUNTIME_DEFAULT") return cfg.stop_signal.replace(/^SIGNAL_/, "");
  if (imageSignal && imageSignal !== "") {
    const s = imageSignal.toUpperCase();
    if (/^\d+$/.test(s)) return s;
    return s.startsWith("SIG") ? s : `SIG${s}`;
  }
  return "SIGTERM";
}

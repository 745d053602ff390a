// What recovery removes for objects no record owns: a RunPodSandbox or CreateContainer cut short
// by a crash (before its record was written) leaves an infra or container process under conmon
// (of whichever runtime handler it ran with), cgroups, an exit file and conmon's socket link.
// Each function here removes one kind of leftover; recovery.ts calls them after loading records.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { removeCgroupPath } from "../cgroup/remove.js";
import { readPidFile } from "./oci/conmon.js";
import { waitProcessGone } from "../util/process-wait.js";
import type { RecoveryDeps } from "./runtime-context.js";

type LeftoverDeps = Pick<
  RecoveryDeps,
  "paths" | "handlers" | "ociRuntime" | "log" | "containers" | "sandboxes" | "config"
>;

/** The ids that have a record (containers and pods share one id space). */
function recordedIds(ctx: LeftoverDeps): Set<string> {
  const ids = new Set<string>();
  for (const c of ctx.containers.list()) ids.add(c.id);
  for (const s of ctx.sandboxes.list()) ids.add(s.id);
  return ids;
}

/** True when `pid` is a conmon monitoring `id` (a pid file can outlive its process). */
async function isConmonOf(pid: number, id: string): Promise<boolean> {
  try {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    return path.basename(argv[0] ?? "") === "conmon" && argv.includes(id);
  } catch {
    return false;
  }
}

/**
 * Deletes an orphan (no record) from the runtime of whichever handler knows it — not only the
 * default one — then makes sure its conmon is gone, so no exit file is written after this.
 * `persistDir` is where its conmon wrote its pid file.
 */
export async function deleteOrphanEverywhere(
  ctx: LeftoverDeps,
  id: string,
  persistDir: string,
): Promise<void> {
  for (const probe of ctx.handlers.usable()) {
    const runtime = ctx.ociRuntime(probe.name);
    try {
      if ((await runtime.state(id)) === undefined) continue;
      ctx.log.warn({ id, handler: probe.name }, "deleting an orphaned container");
      await runtime.delete(id, true);
    } catch (err) {
      ctx.log.error({ id, handler: probe.name, err: errorMessage(err) }, "orphan delete failed");
    }
  }
  const conmon = await readPidFile(path.join(persistDir, "conmon-pidfile")).catch(() => undefined);
  if (conmon !== undefined && (await isConmonOf(conmon, id))) {
    // conmon leaves on its own once its container is gone; one that stays is ended.
    if (!(await waitProcessGone(conmon, 2000))) {
      try {
        process.kill(conmon, "SIGKILL");
      } catch {
        // gone meanwhile
      }
      await waitProcessGone(conmon, 2000);
    }
  }
}

/**
 * The pod cgroups a half-made sandbox can have left: the infra's leaf and, when berth made the
 * pod's parent (`/berth/<id>`), that parent. Read from the bundle's config.json, written before
 * the runtime made any cgroup; without it (a pod without an infra has no bundle) only berth's
 * own default parent can be there, which berth made itself.
 */
export async function removeOrphanPodCgroups(ctx: LeftoverDeps, podDir: string, id: string) {
  if (ctx.config.cgroup_driver === "systemd") return; // the runtime removes its scopes
  let cgroupsPath: unknown;
  try {
    const spec = JSON.parse(
      await fs.readFile(path.join(podDir, "bundle", "config.json"), "utf8"),
    ) as { linux?: { cgroupsPath?: unknown } };
    cgroupsPath = spec.linux?.cgroupsPath;
  } catch {
    const failed = await removeCgroupPath(`/berth/${id}`, undefined, 1).catch((err: unknown) => [
      errorMessage(err),
    ]);
    if (failed.length > 0) ctx.log.warn({ pod_sandbox_id: id, failed }, "orphan pod cgroup left");
    return;
  }
  if (typeof cgroupsPath !== "string" || !cgroupsPath.endsWith(`/${id}`)) return;
  const failed = await removeCgroupPath(cgroupsPath, undefined, 1).catch((err: unknown) => [
    errorMessage(err),
  ]);
  const parent = path.posix.dirname(cgroupsPath);
  if (parent === `/berth/${id}`) {
    failed.push(...(await removeCgroupPath(parent, undefined, 1)));
  }
  if (failed.length > 0) ctx.log.warn({ pod_sandbox_id: id, failed }, "orphan pod cgroups left");
}

/** Exit files of ids no record has (their container or pod was never recorded, or removed). */
export async function removeOrphanExitFiles(ctx: LeftoverDeps): Promise<void> {
  await removeUnrecorded(ctx, ctx.paths.exitDir, "exit file");
}

/** conmon's `<state>/s/<id>` links of ids no record has. */
export async function removeOrphanSocketLinks(ctx: LeftoverDeps): Promise<void> {
  await removeUnrecorded(ctx, ctx.paths.socketDir, "socket link");
}

async function removeUnrecorded(ctx: LeftoverDeps, dir: string, what: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  const keep = recordedIds(ctx);
  for (const name of names) {
    // conmon's temp names carry a '.XXXXXX' suffix; they belong to the id before the dot.
    const id = name.split(".")[0] ?? name;
    if (keep.has(id)) continue;
    ctx.log.info({ id, what }, "removing a leftover of an unrecorded id");
    await fs.rm(path.join(dir, name), { force: true, recursive: true }).catch((err: unknown) => {
      ctx.log.warn({ id, what, err: errorMessage(err) }, "cannot remove leftover");
    });
  }
}

// The programs berth runs besides the OCI runtimes: conmon (every container), catatonit (pods
// sharing one PID namespace), iptables (the default network's masquerading, hostPorts),
// nsenter + socat (port-forward) and chattr (the snapshot store's ext4 placement hint). Each is
// found, then asked for its version where it can tell one.
import { constants as fsConstants, promises as fs } from "node:fs";
import * as path from "node:path";
import type { BerthConfig } from "../../config/config.js";
import type { CommandRunner } from "../../util/command.js";
import { type CheckLine, fail, ok, warn } from "./report.js";

async function executable(file: string): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    await fs.access(file, fsConstants.X_OK);
    return st.isFile();
  } catch {
    return false;
  }
}

/** `file` itself when it has a slash, else the first executable of that name on PATH. */
export async function lookPath(
  file: string,
  envPath = process.env.PATH ?? "",
): Promise<string | undefined> {
  if (file.includes("/")) return (await executable(file)) ? file : undefined;
  for (const dir of envPath.split(":")) {
    if (dir === "") continue;
    const candidate = path.join(dir, file);
    if (await executable(candidate)) return candidate;
  }
  return undefined;
}

interface Program {
  item: string;
  file: string;
  /** Arguments that print a version; none: the program is only looked for. */
  versionArgs?: string[];
  /** FAIL when missing (berth cannot run pods), else WARN (one feature is missing). */
  required: boolean;
  /** What breaks without it. */
  without: string;
  fix: string;
}

export function programsFor(config: BerthConfig): Program[] {
  return [
    {
      item: "conmon",
      file: config.conmon_path,
      versionArgs: ["--version"],
      required: true,
      without: "no container can start",
      fix: "apt install conmon, or set conmon_path",
    },
    {
      item: "catatonit",
      file: config.infra_init_path,
      versionArgs: ["--version"],
      required: true,
      without: "runtime probes and pods sharing one PID namespace fail",
      fix: "apt install catatonit, or set infra_init_path",
    },
    {
      item: "iptables",
      file: "iptables",
      versionArgs: ["--version"],
      required: config.cni.default_network,
      without: "the bridge network cannot masquerade pod traffic nor map hostPorts",
      fix: "apt install iptables",
    },
    {
      item: "nsenter",
      file: "nsenter",
      versionArgs: ["--version"],
      required: false,
      without: "port-forward cannot enter a pod's network namespace",
      fix: "apt install util-linux",
    },
    {
      item: "socat",
      file: "socat",
      versionArgs: ["-V"],
      required: false,
      without: "port-forward (kubectl port-forward, crictl port-forward) fails",
      fix: "apt install socat",
    },
    {
      // chattr prints its version only while changing a file.
      item: "chattr",
      file: "chattr",
      required: false,
      without: "on ext4 the snapshot store's layers are not spread over block groups",
      fix: "apt install e2fsprogs",
    },
  ];
}

/** socat -V prints a banner first; its version line says "socat version 1.7.4.4 on ...". */
function versionLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim());
  return lines.find((l) => /version/i.test(l)) ?? lines.find((l) => l !== "") ?? "";
}

async function checkProgram(p: Program, runner: CommandRunner): Promise<CheckLine> {
  const found = await lookPath(p.file);
  if (found === undefined) {
    const where = p.file.includes("/") ? `${p.file} not found` : `${p.file} not found on PATH`;
    const detail = `${where}: ${p.without}`;
    return p.required ? fail(p.item, detail, p.fix) : warn(p.item, detail, p.fix);
  }
  if (p.versionArgs === undefined) return ok(p.item, found);
  const res = await runner
    .run(found, p.versionArgs, { timeoutMs: 5000, maxOutputBytes: 64 * 1024 })
    .catch(() => undefined);
  const text = res ? `${res.stdout.toString("utf8")}\n${res.stderr.toString("utf8")}` : "";
  const version = versionLine(text);
  return ok(p.item, `${found}${version ? ` (${version})` : ""}`);
}

export async function programLines(
  config: BerthConfig,
  runner: CommandRunner,
): Promise<CheckLine[]> {
  return Promise.all(programsFor(config).map((p) => checkProgram(p, runner)));
}

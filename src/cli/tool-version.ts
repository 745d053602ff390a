// Versions of the programs berth drives, asked of the programs themselves (`--version`), and for
// CNI plugins, which print "version unknown" in Debian's build, the package that holds them.
import { errorMessage } from "../errors.js";
import type { CommandRunner } from "../util/command.js";

const TIMEOUT_MS = 5000;

/** The first non-empty line a program prints for `args`, or why it could not be asked. */
export async function programVersion(
  runner: CommandRunner,
  file: string,
  args: readonly string[] = ["--version"],
): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  try {
    const res = await runner.run(file, args, { timeoutMs: TIMEOUT_MS, maxOutputBytes: 64 * 1024 });
    const text = `${res.stdout.toString("utf8")}\n${res.stderr.toString("utf8")}`;
    const line =
      text
        .split("\n")
        .find((l) => l.trim() !== "")
        ?.trim() ?? "";
    if (res.code !== 0 && line === "") {
      return { ok: false, reason: `${file} ${args.join(" ")}: exit status ${String(res.code)}` };
    }
    return { ok: true, version: line };
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}

/** "CNI bridge plugin v1.4.0" → "v1.4.0"; "... version unknown" → undefined. */
export function cniPluginVersion(line: string): string | undefined {
  const m = /plugin (?:version )?(v?\d[\w.+~-]*)/.exec(line);
  return m?.[1];
}

/**
 * The Debian package (name and version) that installed each of `files`, when dpkg knows it. One
 * dpkg-query for all files: each call reads dpkg's whole file database (most of a second).
 */
export async function debianPackagesOf(
  runner: CommandRunner,
  files: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (files.length === 0) return out;
  try {
    const owners = await runner.run("dpkg-query", ["-S", ...files], { timeoutMs: TIMEOUT_MS });
    const byFile = new Map<string, string>();
    for (const line of owners.stdout.toString("utf8").split("\n")) {
      const m = /^([^:,\s]+)(?::\S+)?: (.+)$/.exec(line);
      if (m?.[1] && m[2]) byFile.set(m[2], m[1]);
    }
    const names = [...new Set(byFile.values())];
    if (names.length === 0) return out;
    const ver = await runner.run("dpkg-query", ["-W", "-f=${Package} ${Version}\n", ...names], {
      timeoutMs: TIMEOUT_MS,
    });
    const versions = new Map(
      ver.stdout
        .toString("utf8")
        .split("\n")
        .map((l) => l.split(" ") as [string, string?])
        .map(([n, v]) => [n, v ?? ""] as const),
    );
    for (const [file, name] of byFile) out.set(file, `${name} ${versions.get(name) ?? ""}`.trim());
  } catch {
    // no dpkg on this host: versions stay unknown
  }
  return out;
}

/** The CNI plugins' versions: their own, else their package's, else "version unknown". */
export async function cniPluginVersions(
  runner: CommandRunner,
  files: readonly string[],
): Promise<string[]> {
  // A CNI plugin run without CNI_COMMAND prints "CNI <name> plugin <version>" and exits.
  const own = await Promise.all(
    files.map(async (f) => {
      const v = await programVersion(runner, f, []);
      return v.ok ? cniPluginVersion(v.version) : undefined;
    }),
  );
  const unknown = files.filter((_, i) => own[i] === undefined);
  const pkgs = await debianPackagesOf(runner, unknown);
  return files.map((f, i) => {
    const v = own[i];
    if (v !== undefined) return v;
    const pkg = pkgs.get(f);
    return pkg === undefined ? "version unknown" : `version unknown, package ${pkg}`;
  });
}

// A fake CNI plugin for unit tests: one shell script installed under several plugin names. Each
// call records its CNI_* environment and stdin; `fail-<name>-<CMD>` files make it print their
// content and exit 1; ADD prints `result-<name>` or else `result`.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// Shell builtins only: spawning a process costs ~25 ms on the test hosts. Every file it reads
// or writes is one line of JSON.
const SCRIPT = `#!/bin/sh
name=\${0##*/}
calls="$FAKE_STATE/calls"
# The first free number, claimed by an exclusive create (noclobber; with true, not the special
# builtin colon, whose failed redirection would end the script): plugins of one pod run
# side by side, and two must never take the same number (a shared counter file could).
n=0
set -C
until { true > "$calls/$n.claim"; } 2>/dev/null; do n=$((n + 1)); done
set +C
base="$calls/$(printf %04d "$n")-$name-$CNI_COMMAND"
IFS= read -r input || true
printf '%s\\n' "$input" > "$base.stdin"
printf 'CNI_COMMAND=%s\\nCNI_CONTAINERID=%s\\nCNI_NETNS=%s\\nCNI_IFNAME=%s\\nCNI_ARGS=%s\\nCNI_PATH=%s\\n' \\
  "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" > "$base.env"
out=""
if [ -f "$FAKE_STATE/fail-$name-$CNI_COMMAND" ]; then
  read -r out < "$FAKE_STATE/fail-$name-$CNI_COMMAND"
  printf '%s' "$out"
  exit 1
fi
if [ "$CNI_COMMAND" = ADD ]; then
  if [ -f "$FAKE_STATE/result-$name" ]; then read -r out < "$FAKE_STATE/result-$name"; else read -r out < "$FAKE_STATE/result"; fi
  printf '%s' "$out"
fi
exit 0
`;

export interface FakeCall {
  plugin: string;
  command: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
}

export class FakePlugins {
  private constructor(
    readonly root: string,
    readonly pluginDir: string,
    readonly state: string,
  ) {}

  static async create(names: readonly string[]): Promise<FakePlugins> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-fakecni-"));
    const pluginDir = path.join(root, "bin");
    const state = path.join(root, "state");
    await fs.mkdir(pluginDir);
    await fs.mkdir(path.join(state, "calls"), { recursive: true });
    for (const n of names) await fs.writeFile(path.join(pluginDir, n), SCRIPT, { mode: 0o755 });
    const fake = new FakePlugins(root, pluginDir, state);
    await fake.setResult(undefined, {
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", sandbox: "/x" }],
      ips: [{ address: "10.0.0.2/24", interface: 0 }],
    });
    return fake;
  }

  env(): NodeJS.ProcessEnv {
    return { PATH: process.env["PATH"], FAKE_STATE: this.state };
  }

  async setResult(plugin: string | undefined, result: unknown): Promise<void> {
    const file = plugin === undefined ? "result" : `result-${plugin}`;
    await fs.writeFile(path.join(this.state, file), JSON.stringify(result));
  }

  async failOn(plugin: string, command: string, output: string): Promise<void> {
    await fs.writeFile(path.join(this.state, `fail-${plugin}-${command}`), output);
  }

  async clearFailures(): Promise<void> {
    for (const f of await fs.readdir(this.state)) {
      if (f.startsWith("fail-")) await fs.rm(path.join(this.state, f));
    }
  }

  async calls(): Promise<FakeCall[]> {
    const dir = path.join(this.state, "calls");
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith(".stdin")).sort();
    const out: FakeCall[] = [];
    for (const f of files) {
      const m = /^\d+-(.+)-([A-Z]+)\.stdin$/.exec(f);
      if (!m) throw new Error(`odd call file ${f}`);
      const envText = await fs.readFile(path.join(dir, f.replace(/\.stdin$/, ".env")), "utf8");
      const env: Record<string, string> = {};
      for (const line of envText.split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      const stdin = JSON.parse(await fs.readFile(path.join(dir, f), "utf8")) as Record<
        string,
        unknown
      >;
      out.push({ plugin: m[1]!, command: m[2]!, env, stdin });
    }
    return out;
  }

  async resetCalls(): Promise<void> {
    const dir = path.join(this.state, "calls");
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(dir);
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }
}

// berthd's subcommands besides running the daemon: `config default|check`, `check` (preflight)
// and `--version`. Each returns an exit status; main.ts runs the daemon when none matched.
// Each subcommand's code loads only when it runs, so the daemon does not carry it.
import { loadConfig } from "../config/load.js";
import { ConfigError } from "../config/validate.js";
import { errorMessage } from "../errors.js";
import { ProcessRunner } from "../util/command.js";

export const SUBCOMMANDS_USAGE = `       berthd --version [--config FILE]   berth, CRI API, runtime, conmon and CNI plugin versions
       berthd check [--config FILE]       preflight: is this node ready for berth (non-zero on FAIL)
       berthd config default              the default configuration, every key commented
       berthd config check FILE           validate FILE and print what berthd would use`;

function loadOrExplain(argv: readonly string[]) {
  try {
    return loadConfig(argv).config;
  } catch (err) {
    const first = errorMessage(err).split("\n")[0] ?? "";
    console.error(`berthd: ${err instanceof ConfigError ? `configuration: ${first}` : first}`);
    return undefined;
  }
}

/** The exit status of a subcommand, or undefined when argv asks for the daemon itself. */
export async function runSubcommand(argv: readonly string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === "config") {
    const { configCommand } = await import("./config-command.js");
    const out = configCommand(rest);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out.code;
  }
  if (first === "check") {
    const config = loadOrExplain(rest);
    if (config === undefined) return 2;
    const { runCheck } = await import("./check/run-check.js");
    const { code, text } = await runCheck(config, new ProcessRunner());
    process.stdout.write(text);
    return code;
  }
  if (argv.includes("--version")) {
    const config = loadOrExplain(argv.filter((a) => a !== "--version"));
    if (config === undefined) return 2;
    const { versionReport } = await import("./version-command.js");
    process.stdout.write(await versionReport(config, new ProcessRunner()));
    return 0;
  }
  return undefined;
}

// berthd's entry point: configuration, logger, the daemon, and signal handling.
import { runSubcommand, SUBCOMMANDS_USAGE } from "./cli/commands.js";
import { loadConfig, USAGE } from "./config/load.js";
import { ConfigError } from "./config/validate.js";
import { Daemon } from "./daemon.js";
import { errorMessage } from "./errors.js";
import { createLogger } from "./log.js";
import { ProcessRunner } from "./util/command.js";
import { probeRuntimeHandler } from "./runtime/probe.js";
import {
  busyShareMeter,
  keepHeapSettled,
  settleHeapAfterStartup,
  exposedMinorGc,
  youngGenerationCapacity,
} from "./util/heap-settle.js";
import { lowMemoryGc } from "./util/low-memory-gc.js";
import { takeAfterStartFlags } from "./util/turbofan-after-start.js";

function configErrorLine(err: unknown): string {
  const first = errorMessage(err).split("\n")[0] ?? "";
  if (err instanceof ConfigError) return `configuration: ${first}`;
  return `${first} (berthd --help lists the flags)`;
}

async function main(): Promise<number> {
  const minorGc = exposedMinorGc();
  const afterStart = takeAfterStartFlags(process.env);
  const sub = await runSubcommand(process.argv.slice(2));
  if (sub !== undefined) return sub;
  let loaded;
  try {
    loaded = loadConfig(process.argv.slice(2));
  } catch (err) {
    // One line naming the key (or flag) at fault; the usage text only on request.
    console.error(`berthd: ${configErrorLine(err)}`);
    return 2;
  }
  if (loaded.help) {
    process.stdout.write(`${USAGE}\n${SUBCOMMANDS_USAGE}\n`);
    return 0;
  }
  const { config } = loaded;
  const log = createLogger(config.log_level);
  log.info({ file: loaded.file ?? "(none: built-in defaults)" }, "configuration loaded");
  const runner = new ProcessRunner();
  const daemon = new Daemon({
    config,
    log,
    runner,
    probeHandler: (name, path, root) =>
      probeRuntimeHandler(
        { name, path, root },
        runner,
        config.state,
        config.cgroup_driver,
        config.infra_init_path,
      ),
  });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, "shutting down");
    stopping = daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  try {
    await daemon.start();
  } catch (err) {
    log.fatal({ err: errorMessage(err) }, "berthd failed to start");
    await daemon.stop(0).catch(() => undefined);
    return 1;
  }
  const flags = afterStart?.();
  if (flags?.length) log.debug({ flags }, "V8 flags set after the start");
  if (minorGc) {
    // Their timers are unref'd and shutdown ends the process: nothing to stop.
    const compact = () => lowMemoryGc((ok) => log.debug({ ok }, "low-memory GC done"));
    const heap = { minorGc, youngCapacity: youngGenerationCapacity, log, compact };
    settleHeapAfterStartup({ ...heap, busyShare: busyShareMeter() });
    keepHeapSettled({ ...heap, busyShare: busyShareMeter() });
  }
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(`berthd: ${errorMessage(err)}`);
    process.exit(1);
  },
);

// Run as a separate node process by conmon.test.ts: creates and starts a container under conmon,
// prints the pids, then SIGKILLs itself — a berthd crash right after StartContainer.
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner } from "../../../src/util/command.js";
import { createContainer } from "../../../src/runtime/oci/conmon.js";
import { ProcessConmonLauncher } from "../../../src/runtime/oci/conmon-launcher.js";
import { OciRuntime } from "../../../src/runtime/oci/oci-runtime.js";
import { CONMON, RUNC } from "./fixture.js";

async function main(): Promise<void> {
  const [id, bundle, runtimeRoot, logPath, exitDir, persistDir, socketDir] = process.argv.slice(2);
  if (!id || !bundle || !runtimeRoot || !logPath || !exitDir || !persistDir || !socketDir) {
    throw new Error(
      "usage: create-and-die id bundle runtimeRoot logPath exitDir persistDir socketDir",
    );
  }
  const runtime = new OciRuntime(
    { name: "runc", path: RUNC, root: runtimeRoot },
    new ProcessRunner(),
  );
  const created = await createContainer(
    runtime,
    { id, bundle, logPath, exitDir, persistDir, socketDir },
    { conmonPath: CONMON, launcher: new ProcessConmonLauncher(), logger: silentLogger() },
  );
  await runtime.start(id);
  process.stdout.write(JSON.stringify(created) + "\n", () => process.kill(process.pid, "SIGKILL"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});

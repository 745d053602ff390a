// `berthd config default` prints every key with its default and what it does (the same text as
// deploy/berth.toml); `berthd config check FILE` validates a file and prints what berthd would
// use with it (defaults filled in, paths resolved).
import { loadConfig } from "../config/load.js";
import { renderConfig, renderDefaultConfig } from "../config/render.js";
import { errorMessage } from "../errors.js";

export const CONFIG_USAGE = `usage: berthd config default      print the default configuration (every key, commented)
       berthd config check FILE   validate FILE and print the configuration berthd would use`;

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export function configCommand(args: readonly string[]): CommandOutput {
  const [sub, ...rest] = args;
  if (sub === "default" && rest.length === 0) {
    return { code: 0, stdout: renderDefaultConfig(), stderr: "" };
  }
  if (sub === "check" && rest.length === 1 && rest[0] !== undefined) {
    const file = rest[0];
    try {
      const { config } = loadConfig(["--config", file]);
      const head = `# ${file} is valid; berthd would use:\n`;
      return { code: 0, stdout: head + renderConfig(config, { comments: false }), stderr: "" };
    } catch (err) {
      const first = errorMessage(err).split("\n")[0] ?? "";
      return { code: 1, stdout: "", stderr: `berthd: ${file}: ${first}\n` };
    }
  }
  return { code: 2, stdout: "", stderr: `${CONFIG_USAGE}\n` };
}

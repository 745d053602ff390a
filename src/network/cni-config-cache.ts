// The node's CNI config for CNI ADD, read again only when a file it came from changed. Reading
// it means listing the conf dirs, reading and parsing the files and checking every plugin
// binary: 1-3 ms of each RunPodSandbox here, on its critical path. containerd keeps the config
// behind an inotify watch; berth compares a stamp instead (the config files of each conf dir,
// each with its size, mtime and inode: two rounds of calls, run in parallel), which no missed
// event can leave stale (but for a rewrite of one file to the same size within one tick of the
// kernel's coarse file clock, unseen until its next change). Only a lookup that found a config
// and skipped no file is kept: a file skipped for a missing plugin would become usable when the
// plugin is installed, which no stamp sees. A plugin removed after the lookup fails the ADD that
// needs it (its exec looks it up again).
import { promises as fs } from "node:fs";
import { type CniConfigLookup, listConfigFiles, loadCniConfigFromDirs } from "./cni-config.js";

/** What the lookup was read from: every config file of every conf dir, size, mtime and inode. */
export async function configStamp(confDirs: readonly string[]): Promise<string> {
  const perDir = await Promise.all(
    confDirs.map(async (dir) => {
      const files = await listConfigFiles(dir).catch(() => undefined);
      if (files === undefined) return `${dir}: unreadable`;
      const stats = await Promise.all(
        files.map((f) =>
          fs.stat(f, { bigint: true }).then(
            (st) => `${f} ${st.size} ${st.mtimeNs} ${st.ino}`,
            () => `${f} gone`,
          ),
        ),
      );
      return [dir, ...stats].join("\n");
    }),
  );
  return perDir.join("\n\n");
}

export class CniConfigCache {
  private kept: { stamp: string; lookup: CniConfigLookup } | undefined;

  constructor(
    private readonly confDirs: readonly string[],
    private readonly pluginDirs: readonly string[],
    private readonly load: typeof loadCniConfigFromDirs = loadCniConfigFromDirs,
  ) {}

  async lookup(): Promise<CniConfigLookup> {
    // The stamp is taken before the read: a change during the read makes the next stamp differ.
    const stamp = await configStamp(this.confDirs);
    if (this.kept?.stamp === stamp) return this.kept.lookup;
    const lookup = await this.load(this.confDirs, this.pluginDirs);
    this.kept = lookup.ok && lookup.skipped.length === 0 ? { stamp, lookup } : undefined;
    return lookup;
  }
}

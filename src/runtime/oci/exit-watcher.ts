// One watcher over the exit dir, as CRI-O keeps one monitor for all containers: conmon writes
// `<exitDir>/<id>` (to a temp name, then renamed) when a container ends. inotify (fs.watch)
// reports it at once; a periodic rescan catches whatever the watch missed (overflow, a dir
// recreated, events lost while berthd was down — the first scan reports every file present).
import { watch, type FSWatcher } from "node:fs";
import { access, mkdir, readdir } from "node:fs/promises";
import * as path from "node:path";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../log.js";
import { readExitFile } from "./exit-file.js";

export interface ExitEvent {
  id: string;
  exitCode: number;
  finishedAt: bigint;
}

export interface ExitWatcherOptions {
  logger: Logger;
  /** Fallback rescan period. */
  rescanIntervalMs?: number;
  /**
   * Which file names are container ids. The default (letters, digits, '_' and '-') skips the
   * temp files conmon writes before its rename, which carry a '.XXXXXX' suffix.
   */
  isId?: (name: string) => boolean;
}

const DEFAULT_IS_ID = (name: string): boolean => /^[A-Za-z0-9_-]+$/.test(name);

export class ExitWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * finishedAt of the exit last reported per id, so each exit is reported once. Bounded by the
   * files in the exit dir: an entry goes when its file does (see prune).
   */
  private readonly reported = new Map<string, bigint>();
  private readonly isId: (name: string) => boolean;
  private closed = false;

  constructor(
    readonly exitDir: string,
    private readonly onExit: (e: ExitEvent) => void,
    private readonly opts: ExitWatcherOptions,
  ) {
    this.isId = opts.isId ?? DEFAULT_IS_ID;
  }

  /** Starts watching; resolves after the first full scan has reported every exit already there. */
  async start(): Promise<void> {
    await mkdir(this.exitDir, { recursive: true, mode: 0o700 });
    this.startWatch();
    this.timer = setInterval(() => void this.rescan(), this.opts.rescanIntervalMs ?? 2000);
    this.timer.unref();
    await this.rescan();
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Forget an id's reported exit (after its exit file is removed), so a new one is reported. */
  forget(id: string): void {
    this.reported.delete(id);
  }

  /** Looks at every file in the exit dir now. */
  async rescan(): Promise<void> {
    if (this.closed) return;
    let names: string[];
    try {
      names = await readdir(this.exitDir);
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err), dir: this.exitDir }, "cannot read exit dir");
      return;
    }
    const ids = names.filter(this.isId);
    await Promise.all(ids.map((n) => this.check(n)));
    await this.prune(new Set(ids));
    // A watch lost to the dir being removed and recreated comes back here.
    if (!this.watcher && !this.closed) this.startWatch();
  }

  /** How many exits are remembered (as many as exit files, at most). */
  get remembered(): number {
    return this.reported.size;
  }

  /**
   * Forgets exits whose file is gone (the container or pod was removed). Checked again on disk,
   * not from the listing alone: a file written after the listing was taken must stay known.
   */
  private async prune(listed: Set<string>): Promise<void> {
    const candidates = [...this.reported.keys()].filter((id) => !listed.has(id));
    await Promise.all(
      candidates.map(async (id) => {
        try {
          await access(path.join(this.exitDir, id));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") this.reported.delete(id);
        }
      }),
    );
  }

  private startWatch(): void {
    try {
      const w = watch(this.exitDir, { persistent: false }, (_event, name) => {
        if (typeof name === "string" && name !== "") {
          if (this.isId(name)) void this.check(name);
        } else {
          void this.rescan();
        }
      });
      w.on("error", (err) => {
        this.opts.logger.warn({ err: errorMessage(err) }, "exit dir watch failed; rescans go on");
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch (err) {
      this.opts.logger.warn(
        { err: errorMessage(err) },
        "cannot watch exit dir; relying on rescans",
      );
    }
  }

  private async check(id: string): Promise<void> {
    let rec;
    try {
      rec = await readExitFile(this.exitDir, id);
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err), id }, "cannot read exit file");
      return;
    }
    if (!rec || this.closed || this.reported.get(id) === rec.finishedAt) return;
    this.reported.set(id, rec.finishedAt);
    try {
      this.onExit({ id, exitCode: rec.exitCode, finishedAt: rec.finishedAt });
    } catch (err) {
      this.opts.logger.error({ err: errorMessage(err), id }, "exit handler threw");
    }
  }
}

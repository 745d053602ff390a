// The pull pipeline, loaded on the first PullImage. The registry client's HTTP stack (undici,
// ~110 modules and a WebAssembly HTTP parser) costs berthd ~12 MB of resident memory; a node
// whose images are already present never pays it. Concurrent first pulls share one load.
import type { Puller, PullerDeps } from "./puller.js";
import type { RegistryClientOptions } from "./registry/index.js";

interface Loaded {
  puller: Puller;
  close(): Promise<void>;
}

export class LazyPuller {
  private loading: Promise<Loaded> | undefined;
  private closed = false;

  constructor(
    private readonly clientOptions: RegistryClientOptions,
    private readonly deps: Omit<PullerDeps, "client">,
  ) {}

  /** Whether the pipeline has been loaded (for tests and the memory bench). */
  get loaded(): boolean {
    return this.loading !== undefined;
  }

  async pull(...args: Parameters<Puller["pull"]>): Promise<Awaited<ReturnType<Puller["pull"]>>> {
    const { puller } = await this.load();
    return puller.pull(...args);
  }

  private load(): Promise<Loaded> {
    if (this.closed) return Promise.reject(new Error("image puller closed"));
    this.loading ??= (async () => {
      const [{ Puller }, { RegistryClient }] = await Promise.all([
        import("./puller.js"),
        import("./registry/index.js"),
      ]);
      const client = new RegistryClient(this.clientOptions);
      return { puller: new Puller({ ...this.deps, client }), close: () => client.close() };
    })();
    return this.loading;
  }

  async close(): Promise<void> {
    this.closed = true;
    const loading = this.loading;
    if (loading) await (await loading).close();
  }
}

// The runtime handlers berth offers (crun, runc, ...), each probed once at startup. A handler
// whose binary is missing or cannot run containers on this host is listed in Status with the
// reason and never used. The default is the configured one, else crun where it works, else runc.
import { FailedPreconditionError, InvalidArgumentError } from "../errors.js";

export interface HandlerProbe {
  name: string;
  path: string;
  /** The runtime's own state dir (`--root`). */
  root: string;
  ok: boolean;
  /** Why it cannot be used, when !ok. */
  reason: string;
  version: string;
  features: { recursiveReadOnlyMounts: boolean; userNamespaces: boolean };
}

const PREFERENCE = ["crun", "runc"];

export class HandlerRegistry {
  readonly defaultName: string | undefined;

  constructor(
    private readonly probes: readonly HandlerProbe[],
    configuredDefault: string,
  ) {
    const usable = probes.filter((p) => p.ok).map((p) => p.name);
    if (configuredDefault !== "" && usable.includes(configuredDefault)) {
      this.defaultName = configuredDefault;
    } else {
      this.defaultName =
        PREFERENCE.find((n) => usable.includes(n)) ?? usable.sort()[0] ?? undefined;
    }
  }

  all(): readonly HandlerProbe[] {
    return this.probes;
  }

  usable(): HandlerProbe[] {
    return this.probes.filter((p) => p.ok);
  }

  /** The handler for a request's `runtime_handler` ("" = the default). */
  resolve(name: string, field = "runtime_handler"): HandlerProbe {
    const wanted = name === "" ? this.defaultName : name;
    if (wanted === undefined) {
      throw new FailedPreconditionError("no runtime handler can run containers on this host");
    }
    const probe = this.probes.find((p) => p.name === wanted);
    if (!probe) {
      const known = this.probes.map((p) => p.name).join(", ");
      throw new InvalidArgumentError(field, `unknown runtime handler "${name}" (known: ${known})`);
    }
    if (!probe.ok) {
      throw new FailedPreconditionError(
        `runtime handler "${wanted}" cannot be used: ${probe.reason}`,
      );
    }
    return probe;
  }
}

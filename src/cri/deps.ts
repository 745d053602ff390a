// What the CRI handlers are given: the daemon's services, wired in main.ts / daemon.ts.
import type { BerthConfig } from "../config/config.js";
import type { HandlerRegistry } from "../runtime/handler-registry.js";
import type { RuntimeConfigStore } from "../runtime/runtime-config-store.js";

export interface NetworkReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

export interface StatusDeps {
  config: BerthConfig;
  runtimeHandlers: HandlerRegistry;
  networkReadiness: () => Promise<NetworkReadiness>;
  runtimeConfig: RuntimeConfigStore;
}

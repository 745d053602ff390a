// Version, Status, RuntimeConfig and UpdateRuntimeConfig: what kubelet asks about the runtime
// itself.
import { InvalidArgumentError } from "../errors.js";
import { quote } from "../validate/text.js";
import { BERTH_VERSION, CRI_API_VERSION, RUNTIME_NAME } from "../version.js";
import type { StatusDeps } from "./deps.js";
import type { CriHandlers } from "./handlers.js";

/** The kubelet-facing API version of the Version RPC (always 0.1.0 upstream). */
const KUBELET_API_VERSION = "0.1.0";

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

export function runtimeInfoHandlers(deps: StatusDeps): CriHandlers {
  return {
    Version: async () => ({
      version: KUBELET_API_VERSION,
      runtime_name: RUNTIME_NAME,
      runtime_version: BERTH_VERSION,
      runtime_api_version: CRI_API_VERSION,
    }),

    Status: async (req) => {
      const handlers = deps.runtimeHandlers;
      const usable = handlers.usable();
      const broken = handlers.all().filter((h) => !h.ok);
      const runtimeReady = handlers.defaultName !== undefined;
      const net = await deps.networkReadiness();
      const brokenText = broken.map((h) => `${h.name}: ${h.reason}`).join("; ");
      const defaultProbe = usable.find((h) => h.name === handlers.defaultName);
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.config = JSON.stringify(deps.config);
        info.runtimeHandlers = JSON.stringify(handlers.all());
        info.defaultRuntimeHandler = handlers.defaultName ?? "";
        info.podCidr = deps.runtimeConfig.podCidr;
      }
      return {
        status: {
          conditions: [
            {
              type: "RuntimeReady",
              status: runtimeReady,
              reason: runtimeReady ? "" : "NoUsableRuntimeHandler",
              message: runtimeReady
                ? brokenText === ""
                  ? ""
                  : `unusable handlers: ${brokenText}`
                : `no runtime handler can run containers here: ${brokenText}`,
            },
            {
              type: "NetworkReady",
              status: net.ready,
              reason: net.reason,
              message: net.message,
            },
          ],
        },
        runtime_handlers: [
          ...(defaultProbe ? [{ name: "", probe: defaultProbe }] : []),
          ...usable.map((probe) => ({ name: probe.name, probe })),
        ].map(({ name, probe }) => ({
          name,
          features: {
            recursive_read_only_mounts: probe.features.recursiveReadOnlyMounts,
            user_namespaces: probe.features.userNamespaces,
          },
        })),
        features: { supplemental_groups_policy: true },
        info,
      };
    },

    RuntimeConfig: async () => ({
      linux: { cgroup_driver: deps.config.cgroup_driver === "systemd" ? "SYSTEMD" : "CGROUPFS" },
    }),

    UpdateRuntimeConfig: async (req) => {
      const cidr = req.runtime_config?.network_config?.pod_cidr ?? "";
      if (cidr === "") return {};
      for (const part of cidr.split(",")) {
        if (!CIDR.test(part.trim())) {
          throw new InvalidArgumentError(
            "runtime_config.network_config.pod_cidr",
            `${quote(part)} is not a CIDR`,
          );
        }
      }
      await deps.runtimeConfig.setPodCidr(cidr);
      return {};
    },
  };
}

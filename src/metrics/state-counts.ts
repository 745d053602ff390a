// berth_containers{state} and berth_pod_sandboxes{state}: every state is listed, zeros too, so
// a dashboard sees "0 running" rather than no series.
import {
  containerState,
  sandboxState,
  type ContainerRecord,
  type SandboxRecord,
} from "../runtime/records.js";
import type { StateCounts } from "./berth-metrics.js";

export function countStates(
  sandboxes: Iterable<Readonly<SandboxRecord>>,
  containers: Iterable<Readonly<ContainerRecord>>,
): StateCounts {
  const out: StateCounts = {
    containers: {
      CONTAINER_CREATED: 0,
      CONTAINER_RUNNING: 0,
      CONTAINER_EXITED: 0,
      CONTAINER_UNKNOWN: 0,
    },
    sandboxes: { SANDBOX_READY: 0, SANDBOX_NOTREADY: 0 },
  };
  for (const c of containers)
    out.containers[containerState(c)] = (out.containers[containerState(c)] ?? 0) + 1;
  for (const s of sandboxes) {
    const state = sandboxState(s);
    out.sandboxes[state] = (out.sandboxes[state] ?? 0) + 1;
  }
  return out;
}

// Lifecycle events of containers and sandboxes, for GetContainerEvents (kubelet's Evented PLEG).
// Publishing never blocks: each subscriber has its own queue, bounded so a stuck client cannot
// grow berthd's memory without limit (it is dropped and must reconnect and relist, as kubelet
// does on a broken stream).
import type { ContainerEventType__Output } from "../gen/runtime/v1/ContainerEventType.js";
import { ResourceExhaustedError } from "../errors.js";
import { nowNs } from "../util/time.js";

export interface RuntimeEvent {
  /** The container's id, or the sandbox's for sandbox events. */
  id: string;
  sandboxId: string;
  type: ContainerEventType__Output;
  at: bigint;
}

const MAX_QUEUED = 10_000;

export class EventBus {
  private readonly subscribers = new Set<(e: RuntimeEvent) => void>();

  publish(id: string, sandboxId: string, type: ContainerEventType__Output): void {
    const e: RuntimeEvent = { id, sandboxId, type, at: nowNs() };
    for (const s of this.subscribers) s(e);
  }

  /** Events from now on until `signal` aborts. */
  async *subscribe(signal: AbortSignal): AsyncGenerator<RuntimeEvent> {
    const queue: RuntimeEvent[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const sub = (e: RuntimeEvent) => {
      if (queue.length >= MAX_QUEUED) overflow = true;
      else queue.push(e);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.subscribers.add(sub);
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        if (overflow)
          throw new ResourceExhaustedError(
            "event stream fell too far behind; reconnect and relist",
          );
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.subscribers.delete(sub);
      signal.removeEventListener("abort", onAbort);
    }
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}

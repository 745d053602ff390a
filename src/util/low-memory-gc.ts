// A memory-reducing full GC, asked for once berthd has gone idle (src/util/heap-settle.ts).
//
// Startup leaves the old generation fragmented: most pages partly live. V8 compacts such pages
// and gives the freed ones back only in the GCs of its memory reducer, which runs ~8 s after an
// idle start here, or in the GCs for a "low memory notification". A plain full GC (`gc()`)
// leaves them (an idle berthd: 11.9 -> 11.8 MB live, RSS unchanged; the unit test shows both).
// Node has no API for the notification, but its in-process inspector session has:
// HeapProfiler.collectGarbage calls V8's LowMemoryNotification (two or more mark-compacts that
// reduce the heap, the young generation included). The session is local to this process: no
// port is opened and no client can attach through it.
//
// The GCs run on the main thread a moment after the call (V8 posts them as a task): at an idle
// berthd's ~12 MB heap two mark-compacts of 33 and 19 ms (--trace-gc, with a test run sharing
// the machine); the settle asks only once the event loop has been quiet. Disconnecting inside
// the command's callback hangs node 20, so the session is closed on the next turn of the loop.
import type * as Inspector from "node:inspector";

/**
 * Asks V8 for a low-memory GC and calls `done` once it ran, with false when it could not (a node
 * built without the inspector). The inspector module is loaded on the first call.
 */
export function lowMemoryGc(done: (ok: boolean) => void = () => undefined): void {
  let session: Inspector.Session;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const inspector = require("node:inspector") as typeof Inspector;
    session = new inspector.Session();
    session.connect();
  } catch {
    done(false);
    return;
  }
  session.post("HeapProfiler.collectGarbage", (err) => {
    setImmediate(() => {
      session.disconnect();
      done(err === null);
    });
  });
}

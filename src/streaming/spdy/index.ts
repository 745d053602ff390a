// berth's SPDY/3.1 transport for exec, attach and port-forward. The rest of berth sees only
// these two functions (their types are in ../types.ts) and the protocol names they accept.
export { serveSpdyRemoteCommand } from "./remote-command.js";
export { serveSpdyPortForward } from "./port-forward.js";

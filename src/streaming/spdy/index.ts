// berth's SPDY/3.1 transport for exec, attach and port-forward. The rest of berth sees only
// these two functions (their types are in ../types.ts) and the protocol names they accept.
export { serveSpdyRemoteCommand, SPDY_REMOTE_COMMAND_PROTOCOLS } from "./remote-command.js";
export { serveSpdyPortForward, SPDY_PORT_FORWARD_PROTOCOL } from "./port-forward.js";

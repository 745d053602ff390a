// The shape of berth's CRI implementation: one optional function per RPC. A method without an
// implementation answers UNIMPLEMENTED naming itself (see server.ts).
import type { CriMethod, RequestOf, ResponseOf, StreamingMethod } from "./proto.js";
import type { StreamImpl, UnaryImpl } from "./instrument.js";

/** Streaming methods produce the inner message; the wire response of each is one chunk. */
export type CriHandlers = {
  [K in CriMethod]?: K extends StreamingMethod
    ? StreamImpl<RequestOf<K>, ResponseOf<K>>
    : UnaryImpl<RequestOf<K>, ResponseOf<K>>;
};

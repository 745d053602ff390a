// The names of the streaming subprotocols and what each one implies (apimachinery
// pkg/util/remotecommand/constants.go, kubelet's remotecommand and portforward packages).

/** SPDY exec/attach versions, most preferred first (X-Stream-Protocol-Version). v5 is v4 on
 *  SPDY (its CLOSE signal exists only on WebSocket); crictl 1.32 offers it first. */
export const SPDY_REMOTE_COMMAND_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;

export const PORT_FORWARD_PROTOCOL = "portforward.k8s.io";
export const SPDY_PORT_FORWARD_PROTOCOLS = [PORT_FORWARD_PROTOCOL] as const;

/** WebSocket exec/attach subprotocols. "" is a client that asked for none: binary, v1. */
export const WS_REMOTE_COMMAND_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  "channel.k8s.io",
  "base64.channel.k8s.io",
] as const;

/** SPDY/3.1 carried inside WebSocket binary messages (client-go's tunnelling dialer). */
export const WS_SPDY_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

/** WebSocket port-forward subprotocols with channels (kubelet's portforward/websocket.go, plus
 *  the SPDY protocol name some clients offer for the same framing). */
export const WS_PORT_FORWARD_PROTOCOLS = [
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  PORT_FORWARD_PROTOCOL,
] as const;

/** Channel numbers of exec/attach over WebSocket. */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;

/** v5: a message [255, N] means the sender will send nothing more on channel N. */
export const CLOSE_CHANNEL = 255;

/** Protocols whose error channel carries a metav1.Status JSON object (v4 and later). */
export function writesStatusJson(protocol: string): boolean {
  return protocol.startsWith("v4.") || protocol.startsWith("v5.");
}

/** Base64 subprotocols send text messages: a channel digit, then base64 data. */
export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes("base64.");
}

/** Only v5 knows the CLOSE channel. */
export function hasCloseChannel(protocol: string): boolean {
  return protocol.startsWith("v5.");
}

/** Splits X-Stream-Protocol-Version values: repeated headers and/or comma-separated lists. */
export function splitProtocolHeader(values: string | string[] | undefined): string[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list.flatMap((v) => v.split(",").map((p) => p.trim())).filter((p) => p !== "");
}

/** The first protocol the client offers that the server supports (the client's order wins). */
export function negotiate(
  client: readonly string[],
  server: readonly string[],
): string | undefined {
  return client.find((p) => server.includes(p));
}

/**
 * werift 0.25.2 restarts ICE when a description with new credentials is applied (the agent forgets its
 * pair, and its state reads "completed" once gathering ends), but its connect() returns as soon as DTLS
 * is up, before it starts that agent: nothing then checks or nominates a pair, and media stops both
 * ways. After applying an ICE restart's description, start every such agent here. (An agent of a
 * connection whose DTLS is not up yet is left to werift's own connect(), which starts it.)
 */
import type { RTCPeerConnection } from "werift";

export function startRestartedIce(pc: RTCPeerConnection): void {
  for (const dtls of pc.dtlsTransports) {
    const ice = dtls.iceTransport;
    const idle = ice.connection.nominated === undefined && ice.state !== "checking" && ice.state !== "closed";
    if (dtls.state === "connected" && idle) ice.start().catch(() => undefined);
  }
}

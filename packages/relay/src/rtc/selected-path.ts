/**
 * Which path a peer connection took once it connected: the type and transport of the remote candidate
 * of werift's nominated pair (host UDP, host TCP through ICE-TCP, relay through the client's TURN
 * server, ...). Operators read it from /metrics to see how many clients need the fallbacks.
 */
import type { RTCPeerConnection } from "werift";

export interface SelectedPath {
  /** The remote candidate's type: host, srflx, prflx (learnt from the client's checks) or relay. */
  type: string;
  /** udp or tcp. */
  protocol: string;
}

/** The path of `pc`'s nominated candidate pair, if ICE nominated one. */
export function selectedPath(pc: RTCPeerConnection): SelectedPath | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated;
  if (!pair) return undefined;
  return { type: pair.remoteCandidate.type, protocol: pair.remoteCandidate.transport.toLowerCase() };
}

/** Calls `report` with the selected path each time `pc` becomes connected (again after an ICE restart). */
export function watchSelectedPath(pc: RTCPeerConnection, report: (path: SelectedPath) => void): void {
  pc.connectionStateChange.subscribe((state) => {
    if (state !== "connected") return;
    const path = selectedPath(pc);
    if (path) report(path);
  });
}

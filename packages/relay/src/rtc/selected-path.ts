/**
 * Which path a peer connection took once it connected: the type, transport and address of the remote
 * candidate of werift's nominated pair. Operators read it from /metrics to see how many clients need
 * the fallbacks (ICE-TCP, TURN). Browsers send the relay no candidates (ICE-lite needs none), so werift
 * learns most remote candidates from the client's checks, as prflx; see `pathType` for relayed ones.
 */
import type { RTCPeerConnection } from "werift";

export interface SelectedPath {
  /** The remote candidate's type: host, srflx, prflx (learnt from the client's checks) or relay. */
  type: string;
  /** udp or tcp. */
  protocol: string;
  /** The client's address as the relay sees it. */
  address: string;
}

/**
 * The path's type for the metrics: "relay" when it comes from one of our TURN servers' addresses (the
 * candidate itself says prflx: the relay learnt it from a check the TURN server relayed), else the
 * remote candidate's own type.
 */
export function pathType(path: SelectedPath, turnAddresses: ReadonlySet<string>): string {
  return turnAddresses.has(path.address) ? "relay" : path.type;
}

/** The path of `pc`'s nominated candidate pair, if ICE nominated one. */
export function selectedPath(pc: RTCPeerConnection): SelectedPath | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated;
  if (!pair) return undefined;
  const { type, transport, host } = pair.remoteCandidate;
  return { type, protocol: transport.toLowerCase(), address: host };
}

/** Calls `report` with the selected path each time `pc` becomes connected (again after an ICE restart). */
export function watchSelectedPath(pc: RTCPeerConnection, report: (path: SelectedPath) => void): void {
  pc.connectionStateChange.subscribe((state) => {
    if (state !== "connected") return;
    const path = selectedPath(pc);
    if (path) report(path);
  });
}

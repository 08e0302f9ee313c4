/**
 * The RTCConfiguration of both peer connections: the page's `rtcConfig` (its `iceTransportPolicy`, its
 * own ICE servers and whatever else it sets) plus the ICE servers the relay hands out in `joined` and
 * `resumed` (TURN with credentials minted for this participant). One function, so both connections and
 * every refresh after a resume agree.
 */
import type { IceServer } from "@sfu-room/protocol";

/** What both connections need whatever the page says: one transport for everything (the relay bundles). */
const REQUIRED: RTCConfiguration = { bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" };

export function peerConfiguration(page: RTCConfiguration, relayServers: readonly IceServer[]): RTCConfiguration {
  // The page's servers first: a page that brings its own TURN prefers it.
  const iceServers = [...(page.iceServers ?? []), ...relayServers.map(toRtcIceServer)];
  return { ...REQUIRED, ...page, iceServers };
}

function toRtcIceServer(server: IceServer): RTCIceServer {
  return {
    urls: [...server.urls],
    ...(server.username !== undefined ? { username: server.username } : {}),
    ...(server.credential !== undefined ? { credential: server.credential } : {}),
  };
}

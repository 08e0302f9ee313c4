/**
 * The SRTP profile of subscriber connections, chosen on purpose: the relay is their DTLS server, so it
 * picks (the first of its list the client also offers), and the fast path protects every forwarded
 * packet with it. What each costs per 1200-byte packet on this machine (AES-NI, SHA-NI):
 * - the JavaScript path: AES_CM_128_HMAC_SHA1_80 about 7 µs, AEAD_AES_128_GCM about 10 µs: counter
 *   mode keeps one cipher for the whole session, while Node makes a new GCM context per packet (in the
 *   relay's profile under load, GCM's set-up, update, tag and AAD calls were ~30% of all CPU);
 * - the native accelerator: GCM 0.72 µs, AES-CM 1.24 µs (one reused GCM context; SHA-1 over the packet
 *   costs more than GHASH).
 * So each path prefers its cheaper one. Both are WebRTC's profiles (RFC 8827 mandates AES-CM; GCM is an
 * AEAD, RFC 7714); a client that offers only one gets that one.
 */
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, type RTCPeerConnection } from "werift";
import { setSrtpProfiles } from "./werift-internals.ts";

const JAVASCRIPT_PREFERENCE = [ProtectionProfileAes128CmHmacSha1_80, ProtectionProfileAeadAes128Gcm];
const NATIVE_PREFERENCE = [ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80];

/** Call after each setLocalDescription (which makes the transports), before the answer starts DTLS. */
export function preferCheaperSrtp(pc: RTCPeerConnection, native: boolean): void {
  const profiles = native ? NATIVE_PREFERENCE : JAVASCRIPT_PREFERENCE;
  for (const transport of pc.dtlsTransports) setSrtpProfiles(transport, profiles);
}

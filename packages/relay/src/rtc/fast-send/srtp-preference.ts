/**
 * Subscriber connections choose AES_CM_128_HMAC_SHA1_80 for SRTP, on purpose: the relay is their DTLS
 * server, so it picks, and the fast send path protects a packet in counter mode for about 70% of what
 * AEAD_AES_128_GCM costs it (7 vs 10 µs for a 1200-byte payload, this machine): counter mode keeps one
 * cipher for the whole session, while Node makes a new GCM context per packet (in the relay's profile
 * under load, GCM's set-up, update, tag and AAD calls were ~30% of all CPU). Both are WebRTC's profiles
 * (RFC 8827 mandates the first); a client that offers only GCM still gets GCM.
 */
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, type RTCPeerConnection } from "werift";
import { setSrtpProfiles } from "./werift-internals.ts";

const SUBSCRIBER_SRTP_PROFILES = [ProtectionProfileAes128CmHmacSha1_80, ProtectionProfileAeadAes128Gcm];

/** Call after each setLocalDescription (which makes the transports), before the answer starts DTLS. */
export function preferCounterModeSrtp(pc: RTCPeerConnection): void {
  for (const transport of pc.dtlsTransports) setSrtpProfiles(transport, SUBSCRIBER_SRTP_PROFILES);
}

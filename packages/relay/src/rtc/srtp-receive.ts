/**
 * The receive half of the fast path: a publisher connection's incoming SRTP is unprotected with cipher
 * state made once per session key (media/srtp-cipher.ts) instead of werift's cipher, HMAC, header parse
 * and Buffer copies per packet. Only the decryption is replaced: werift still routes the packet to its
 * receiver (mid, rid and SSRC), keeps its statistics and receiver reports, and does ICE, DTLS, SRTCP and
 * SCTP. A packet that fails authentication is dropped by werift as before (its own error class).
 *
 * The rollover counter of each SSRC is kept here; an SSRC is remembered only once one of its packets
 * authenticated, so forged datagrams cannot grow the table.
 */
import { ProtectionProfileAeadAes128Gcm, type RTCPeerConnection, SrtpAuthenticationError, type SrtpSession } from "werift";
import { type SrtpCipher, type SrtpSessionKeys, srtpCipher, srtpSsrc, SrtpUnprotectError } from "../media/srtp-cipher.ts";
import type { NativeAccelerator } from "./fast-send/native-accelerator.ts";
import { RolloverCounter } from "../media/srtp-rollover.ts";

/** Replaces the SRTP decryption of `pc`'s transports each time it connects (a new DTLS session: new keys). */
export function unprotectWithReusedState(pc: RTCPeerConnection, native?: NativeAccelerator): void {
  const replaced = new WeakSet<SrtpSession>();
  pc.connectionStateChange.subscribe((state) => {
    if (state !== "connected") return;
    for (const transport of pc.dtlsTransports) {
      const srtp = transport.srtp as SrtpSession | undefined; // made when DTLS connected, before this
      if (srtp === undefined || replaced.has(srtp)) continue;
      replaced.add(srtp);
      srtp.decrypt = decryptor(receivingCipher(srtp, native));
    }
  });
}

/** The native accelerator's unprotection when there is one (one call per packet), else media/srtp-cipher.ts's. */
function receivingCipher(srtp: SrtpSession, native: NativeAccelerator | undefined): Pick<SrtpCipher, "unprotect"> {
  const { profile, srtpSessionKey: key, srtpSessionSalt: salt, srtpSessionAuthTag: authKey } = srtp.remoteContext;
  const keys: SrtpSessionKeys = profile === ProtectionProfileAeadAes128Gcm
    ? { profile: "aead-aes-128-gcm", key, salt }
    : { profile: "aes-cm-128-hmac-sha1-80", key, salt, authKey };
  return native?.unprotector(keys) ?? srtpCipher(keys);
}

function decryptor(cipher: Pick<SrtpCipher, "unprotect">): (data: Buffer) => Buffer {
  const rollovers = new Map<number, RolloverCounter>();
  return (data) => {
    const ssrc = srtpSsrc(data);
    const known = rollovers.get(ssrc);
    const rollover = known ?? new RolloverCounter();
    try {
      const plain = cipher.unprotect(data, rollover);
      if (known === undefined) rollovers.set(ssrc, rollover);
      return plain;
    } catch (e) {
      throw e instanceof SrtpUnprotectError ? new SrtpAuthenticationError(e.message) : e;
    }
  };
}

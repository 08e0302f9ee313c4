/**
 * Where a subscriber connection's forwarded RTP leaves, around werift's sender: SRTP protection with
 * state made once per session key (the keys werift derived from its DTLS-SRTP export), and one datagram
 * written on werift's own UDP socket to the ICE-nominated pair's address, without werift's per-packet
 * promises (three async layers between RTCRtpSender.sendRtp and the socket). A TCP or TURN pair goes
 * through werift's ICE connection (it frames or wraps the packet).
 *
 * The rollover counter of each SSRC sent belongs to the SRTP session, so it lives here. werift's own
 * SRTP context never sends on these SSRCs (the fast path is their only sender), so there is one counter.
 */
import { type CandidatePair, ProtectionProfileAeadAes128Gcm, type RTCDtlsTransport, type SrtpSession, StunProtocol } from "werift";
import { RolloverCounter } from "../../media/srtp-rollover.ts";
import { SRTP_HEADROOM, type SrtpCipher, srtpCipher } from "../../media/srtp-cipher.ts";
import { canSendApplicationData } from "./werift-internals.ts";

export class SubscriberPath {
  #srtp: SrtpSession | undefined;
  #cipher: SrtpCipher | undefined;
  readonly #rollovers = new Map<number, RolloverCounter>();
  /** The nominated pair the address was read from (werift makes a new array per read). */
  #pair: CandidatePair | undefined;
  #host = "";
  #port = 0;

  /** Whether `transport` can carry RTP now: DTLS up, its SRTP keys exported. */
  ready(transport: RTCDtlsTransport): boolean {
    return transport.state === "connected" && transport.srtp !== undefined;
  }

  /**
   * Protects the RTP packet at `buf[SRTP_HEADROOM...]` (see media/srtp-cipher.ts for the layout) and
   * sends it; returns the SRTP packet's length. Only when `ready(transport)`.
   */
  send(transport: RTCDtlsTransport, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number): number {
    const cipher = this.#cipherFor(transport.srtp);
    let rollover = this.#rollovers.get(ssrc);
    if (rollover === undefined) {
      rollover = new RolloverCounter();
      this.#rollovers.set(ssrc, rollover);
    }
    const size = cipher.protect(buf, headerLength, length, ssrc, seq, rollover.next(seq));
    const connection = transport.iceTransport.connection;
    const pair = connection.nominated;
    if (pair === undefined || !canSendApplicationData(connection)) return size; // werift drops it too
    const protocol = pair.protocol;
    if (protocol instanceof StunProtocol) {
      if (protocol.transport.closed) return size;
      if (pair !== this.#pair) {
        [this.#host, this.#port] = pair.remoteAddr;
        this.#pair = pair;
      }
      protocol.transport.socket.send(buf, SRTP_HEADROOM, size, this.#port, this.#host);
      pair.packetsSent++; // what Connection.send counts (getStats of the candidate pair)
      pair.bytesSent += size;
    } else {
      connection.send(buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size)).catch(() => undefined);
    }
    transport.bytesSent += size; // what RTCDtlsTransport.sendRtp counts
    transport.packetsSent++;
    return size;
  }

  #cipherFor(srtp: SrtpSession): SrtpCipher {
    if (srtp !== this.#srtp || this.#cipher === undefined) {
      // A new SRTP session (a new DTLS association): new keys, and every SSRC starts over.
      const { profile, srtpSessionKey, srtpSessionSalt, srtpSessionAuthTag } = srtp.localContext;
      this.#cipher = profile === ProtectionProfileAeadAes128Gcm
        ? srtpCipher({ profile: "aead-aes-128-gcm", key: srtpSessionKey, salt: srtpSessionSalt })
        : srtpCipher({ profile: "aes-cm-128-hmac-sha1-80", key: srtpSessionKey, salt: srtpSessionSalt, authKey: srtpSessionAuthTag });
      this.#srtp = srtp;
      this.#rollovers.clear();
    }
    return this.#cipher;
  }
}

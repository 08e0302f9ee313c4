/**
 * Where a subscriber connection's forwarded RTP leaves, around werift's sender: SRTP protection with
 * state made once per session key (the keys werift derived from its DTLS-SRTP export), and one datagram
 * written on werift's own UDP socket to the ICE-nominated pair's address, without werift's per-packet
 * promises (three async layers between RTCRtpSender.sendRtp and the socket). A TCP or TURN pair goes
 * through werift's ICE connection (it frames or wraps the packet).
 *
 * The rollover counter of each SSRC sent belongs to the SRTP session, so it lives here. werift's own
 * SRTP context never sends on these SSRCs (the fast path is their only sender), so there is one counter.
 *
 * With the native accelerator (native-accelerator.ts), protection and the UDP send happen on the
 * module's sender thread, on a duplicate of the socket's descriptor held per nominated pair (closed
 * when the pair changes, its socket closes or the connection does); the event loop only copies the
 * packet into the thread's queue. Without it, media/srtp-cipher.ts protects and Node's socket sends.
 */
import { type CandidatePair, ProtectionProfileAeadAes128Gcm, type RTCDtlsTransport, type SrtpSession, StunProtocol } from "werift";
import { RolloverCounter } from "../../media/srtp-rollover.ts";
import { SRTP_HEADROOM, type SrtpCipher, type SrtpSessionKeys, srtpCipher, srtpTagLength } from "../../media/srtp-cipher.ts";
import { canSendApplicationData } from "./werift-internals.ts";
import type { NativeAccelerator, NativeDestination, NativeSession } from "./native-accelerator.ts";

/**
 * With the accelerator, every packet is written into this one buffer: the native call copies it into
 * the sender thread's queue (or protects it) before it returns (one process-wide Buffer instead of one
 * per packet and subscriber, the garbage collector's 9% of the relay's CPU at 75 subscribers). A route
 * that sends later (TCP, TURN) takes a copy.
 */
const scratch = Buffer.allocUnsafe(2048);

export class SubscriberPath {
  readonly #native: NativeAccelerator | undefined;
  #srtp: SrtpSession | undefined;
  /** The JavaScript cipher for the session's keys (without the accelerator). */
  #cipher: SrtpCipher | undefined;
  /** The native module's state for the same keys (with the accelerator). */
  #session: NativeSession | undefined;
  /** The pair's socket descriptor and address (with the accelerator); undefined: Node's socket sends. */
  #destination: NativeDestination | undefined;
  readonly #rollovers = new Map<number, RolloverCounter>();
  /** The nominated pair the address was read from (werift makes a new array per read). */
  #pair: CandidatePair | undefined;
  #host = "";
  #port = 0;
  #closed = false;
  /** The SRTP authentication tag's length of the session's profile. */
  #tagLength = 0;

  constructor(native?: NativeAccelerator) {
    this.#native = native;
  }

  /** Whether the native accelerator protects and sends (it prefers another SRTP profile: srtp-preference.ts). */
  get native(): boolean {
    return this.#native !== undefined;
  }

  /**
   * A buffer for a packet of `size` bytes (SRTP_HEADROOM, the RTP packet, SRTP_TRAILER) to hand to
   * send(): the shared scratch with the accelerator, else a new one. Only until send() returns.
   */
  buffer(size: number): Buffer {
    return this.#native !== undefined && size <= scratch.length ? scratch : Buffer.allocUnsafe(size);
  }

  /** Whether `transport` can carry RTP now: DTLS up, its SRTP keys exported. */
  ready(transport: RTCDtlsTransport): boolean {
    return transport.state === "connected" && transport.srtp !== undefined;
  }

  /**
   * Protects the RTP packet at `buf[SRTP_HEADROOM...]` (see media/srtp-cipher.ts for the layout) and
   * sends it; returns the SRTP packet's length. Only when `ready(transport)`.
   */
  send(transport: RTCDtlsTransport, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, transportSeq = -1): number {
    this.#keysFor(transport.srtp);
    let rollover = this.#rollovers.get(ssrc);
    if (rollover === undefined) {
      rollover = new RolloverCounter();
      this.#rollovers.set(ssrc, rollover);
    }
    const roc = rollover.next(seq);
    const connection = transport.iceTransport.connection;
    const pair = connection.nominated;
    const native = this.#native;
    if (this.#closed || pair === undefined || !canSendApplicationData(connection)) {
      this.#dropDestination();
      return this.#protect(buf, headerLength, length, ssrc, seq, roc); // werift drops it too
    }
    const protocol = pair.protocol;
    let size: number;
    if (protocol instanceof StunProtocol) {
      if (protocol.transport.closed) {
        this.#dropDestination(); // the duplicate would hold the socket werift closed open
        return this.#protect(buf, headerLength, length, ssrc, seq, roc);
      }
      const socket = protocol.transport.socket;
      if (pair !== this.#pair) {
        this.#dropDestination();
        [this.#host, this.#port] = pair.remoteAddr;
        this.#destination = native?.destination(socket, this.#host, this.#port);
        this.#pair = pair;
      }
      if (this.#destination !== undefined && length <= native!.queueLimit) {
        size = native!.queueSend(this.#session!, buf, headerLength, length, ssrc, seq, roc, this.#destination, transportSeq);
        if (size < 0) return 0; // the sender thread's queue stayed full: dropped (and counted there), as a full socket would
      } else if (this.#destination !== undefined) {
        // Longer than a queue slot (not from a browser's 1200-byte MTU): sent now, after what is queued
        // (waiting at most 2 ms for that, as queueSend does for room; else dropped as a full queue drops).
        if (!native!.flush(2)) return 0;
        size = native!.protectSend(this.#session!, buf, headerLength, length, ssrc, seq, roc, this.#destination);
        if (size < 0) {
          size = length + this.#tagLength;
          socket.send(owned(buf, size), 0, size, this.#port, this.#host); // protected already; libuv queues what the socket refused
        }
      } else {
        size = this.#protect(buf, headerLength, length, ssrc, seq, roc);
        socket.send(owned(buf, size), 0, size, this.#port, this.#host);
      }
      pair.packetsSent++; // what Connection.send counts (getStats of the candidate pair)
      pair.bytesSent += size;
    } else {
      this.#dropDestination(); // the pair moved to TCP or TURN
      size = this.#protect(buf, headerLength, length, ssrc, seq, roc);
      connection.send(owned(buf, size)).catch(() => undefined);
    }
    transport.bytesSent += size; // what RTCDtlsTransport.sendRtp counts
    transport.packetsSent++;
    return size;
  }

  /**
   * When the packets with transport-wide seqs `seqs[0, count)` left (performance.now() ms) into `out`,
   * where the sender thread sent them; -1 elsewhere (the caller keeps its own send time).
   */
  departures(seqs: Int32Array, out: Float64Array, count: number): void {
    if (this.#destination !== undefined) this.#native!.departures(this.#destination, seqs, out, count);
    else out.fill(-1, 0, count);
  }

  /** The connection closed: its descriptor's duplicate closes once the packets queued for it are sent. */
  close(): void {
    this.#closed = true;
    this.#dropDestination();
  }

  #dropDestination(): void {
    if (this.#destination !== undefined) this.#native!.closeDestination(this.#destination);
    this.#destination = undefined;
    this.#pair = undefined;
  }

  #protect(buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number): number {
    return this.#session !== undefined
      ? this.#native!.protect(this.#session, buf, headerLength, length, ssrc, seq, roc)
      : this.#cipher!.protect(buf, headerLength, length, ssrc, seq, roc);
  }

  /** The protection state for `srtp`'s keys: the native session with the accelerator, else the JavaScript cipher. */
  #keysFor(srtp: SrtpSession): void {
    if (srtp !== this.#srtp) {
      // A new SRTP session (a new DTLS association): new keys, and every SSRC starts over.
      const { profile, srtpSessionKey, srtpSessionSalt, srtpSessionAuthTag } = srtp.localContext;
      const keys: SrtpSessionKeys = profile === ProtectionProfileAeadAes128Gcm
        ? { profile: "aead-aes-128-gcm", key: srtpSessionKey, salt: srtpSessionSalt }
        : { profile: "aes-cm-128-hmac-sha1-80", key: srtpSessionKey, salt: srtpSessionSalt, authKey: srtpSessionAuthTag };
      this.#session = this.#native?.session(keys);
      this.#cipher = this.#session === undefined ? srtpCipher(keys) : undefined;
      this.#tagLength = srtpTagLength(keys.profile);
      this.#srtp = srtp;
      this.#rollovers.clear();
    }
  }
}

/** The SRTP packet of `size` bytes at buf[SRTP_HEADROOM], in a Buffer of its own when `buf` is the shared scratch. */
function owned(buf: Buffer, size: number): Buffer {
  const packet = buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size);
  return buf === scratch ? Buffer.from(packet) : packet;
}

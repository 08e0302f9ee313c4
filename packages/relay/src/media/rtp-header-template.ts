/**
 * The RTP header of one outgoing stream as a template: the bytes that never change (version, payload
 * type, SSRC, the one-byte header extension block with its ids and the mid's value) made once, and per
 * packet only sequence number, timestamp, marker and the changing extension values written in place.
 *
 * The layout is werift's (RtpHeader.serialize): extensions in id order in the one-byte form (RFC 8285,
 * profile 0xBEDE), zero padding to a word, the X bit only when there are extensions, no CSRCs.
 */

/** An extension the template carries: a fixed value, or one written per packet. */
export type TemplateExtension =
  | { id: number; kind: "fixed"; value: Buffer }
  | { id: number; kind: "abs-send-time" | "transport-cc" | "audio-level" };

const VALUE_BYTES = { "abs-send-time": 3, "transport-cc": 2, "audio-level": 1 } as const;

/** Per-packet values; an extension the template does not have ignores its value. */
export interface HeaderValues {
  seq: number;
  timestamp: number;
  marker: boolean;
  /** Send time, 6.18 fixed-point seconds of NTP time (24 bits). */
  absSendTime: number;
  transportSeq: number;
  /** The ssrc-audio-level byte (V bit and level), as the publisher sent it. */
  audioLevel: number;
}

export class RtpHeaderTemplate {
  readonly length: number;
  readonly #bytes: Buffer;
  readonly #payloadType: number;
  /** Offsets of the per-packet values within the header; -1: not carried. */
  readonly #absSendTimeAt: number;
  readonly #transportSeqAt: number;
  readonly #audioLevelAt: number;

  /** Throws when an extension does not fit the one-byte form (id 1-14, value 1-16 bytes). */
  constructor(ssrc: number, payloadType: number, extensions: readonly TemplateExtension[]) {
    const sorted = [...extensions].sort((a, b) => a.id - b.id);
    const valueBytes = (e: TemplateExtension) => (e.kind === "fixed" ? e.value.length : VALUE_BYTES[e.kind]);
    for (const e of sorted) {
      if (e.id < 1 || e.id > 14 || valueBytes(e) < 1 || valueBytes(e) > 16) throw new Error(`header extension ${e.id} does not fit the one-byte form`);
    }
    const extensionBytes = sorted.reduce((sum, e) => sum + 1 + valueBytes(e), 0);
    const extensionWords = (extensionBytes + 3) >>> 2;
    this.length = 12 + (sorted.length > 0 ? 4 + extensionWords * 4 : 0);
    const bytes = Buffer.alloc(this.length);
    bytes[0] = sorted.length > 0 ? 0x90 : 0x80;
    bytes.writeUInt32BE(ssrc >>> 0, 8);
    this.#payloadType = payloadType & 0x7f;
    const offsets = { "abs-send-time": -1, "transport-cc": -1, "audio-level": -1 };
    if (sorted.length > 0) {
      bytes.writeUInt16BE(0xbede, 12);
      bytes.writeUInt16BE(extensionWords, 14);
      let at = 16;
      for (const e of sorted) {
        bytes[at++] = (e.id << 4) | (valueBytes(e) - 1);
        if (e.kind === "fixed") e.value.copy(bytes, at);
        else offsets[e.kind] = at;
        at += valueBytes(e);
      }
    }
    this.#bytes = bytes;
    this.#absSendTimeAt = offsets["abs-send-time"];
    this.#transportSeqAt = offsets["transport-cc"];
    this.#audioLevelAt = offsets["audio-level"];
  }

  get carriesTransportSeq(): boolean {
    return this.#transportSeqAt >= 0;
  }

  /** Writes the header for `values` at `buf[at]` (this.length bytes). */
  write(buf: Buffer, at: number, values: HeaderValues): void {
    this.#bytes.copy(buf, at);
    buf[at + 1] = values.marker ? 0x80 | this.#payloadType : this.#payloadType;
    buf.writeUInt16BE(values.seq & 0xffff, at + 2);
    buf.writeUInt32BE(values.timestamp >>> 0, at + 4);
    if (this.#absSendTimeAt >= 0) buf.writeUIntBE(values.absSendTime & 0xffffff, at + this.#absSendTimeAt, 3);
    if (this.#transportSeqAt >= 0) buf.writeUInt16BE(values.transportSeq & 0xffff, at + this.#transportSeqAt);
    if (this.#audioLevelAt >= 0) buf[at + this.#audioLevelAt] = values.audioLevel & 0xff;
  }
}

/** NTP seconds at the Unix epoch. */
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/** abs-send-time (6.18 fixed-point seconds, 24 bits) of a wall-clock time in ms since the Unix epoch. */
export function absSendTime(unixMs: number): number {
  return Math.floor((unixMs / 1000 + NTP_EPOCH_OFFSET_S) * 262_144) % 16_777_216;
}

/** The 64-bit NTP timestamp (RFC 3550 4) of a wall-clock time in ms since the Unix epoch. */
export function ntpTimestamp(unixMs: number): bigint {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 4_294_967_296);
  return (BigInt(seconds + NTP_EPOCH_OFFSET_S) << 32n) | BigInt(fraction);
}

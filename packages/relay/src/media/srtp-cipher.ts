/**
 * SRTP with cipher state made once per session key (RFC 3711 AES_CM_128_HMAC_SHA1_80, RFC 7714
 * AEAD_AES_128_GCM): protection of an outgoing RTP packet in place, and unprotection of an incoming
 * one. werift builds a cipher, an HMAC and several Buffers per packet; this keeps one AES-ECB cipher
 * for the counter-mode keystream, the HMAC pads precomputed, and one KeyObject for GCM (Node has no
 * reusable GCM context).
 *
 * The buffer layout of a packet to protect, made by the caller: SRTP_HEADROOM bytes of room (the HMAC's inner pad is
 * written there, so the MAC is one hash over contiguous bytes), the RTP packet, then SRTP_TRAILER bytes
 * for the tag. Buffers from Buffer.allocUnsafe are 8-byte aligned, so the payload (RTP headers are a
 * multiple of 4 bytes) can be XORed a 32-bit word at a time.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hash, timingSafeEqual, type Cipheriv, type KeyObject } from "node:crypto";
import type { RolloverCounter } from "./srtp-rollover.ts";

export const SRTP_HEADROOM = 64;
/** Room after the packet: the longest tag (GCM, 16) and the counter-mode XOR's overrun to a word. */
export const SRTP_TRAILER = 16;

export type SrtpProfileName = "aes-cm-128-hmac-sha1-80" | "aead-aes-128-gcm";

/** Session keys (derived from the DTLS-SRTP master key and salt) of the sending direction. */
export interface SrtpSessionKeys {
  profile: SrtpProfileName;
  key: Buffer;
  /** 14 bytes (counter mode) or 12 (GCM; more are ignored). */
  salt: Buffer;
  /** The HMAC-SHA1 key (counter mode only). */
  authKey?: Buffer;
}

export interface SrtpCipher {
  /**
   * Protects the RTP packet at `buf[SRTP_HEADROOM, SRTP_HEADROOM + length)` whose header is
   * `headerLength` bytes, and returns the length of the SRTP packet (which starts at SRTP_HEADROOM).
   */
  protect(buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number): number;
  /**
   * The RTP packet in SRTP packet `data` (a new Buffer), its rollover counter estimated and, once it
   * authenticated, updated on `rollover` (its SSRC's, see `srtpSsrc`). Throws SrtpUnprotectError.
   */
  unprotect(data: Buffer, rollover: RolloverCounter): Buffer;
}

export class SrtpUnprotectError extends Error {}

export function srtpCipher(keys: SrtpSessionKeys): SrtpCipher {
  return keys.profile === "aead-aes-128-gcm" ? new GcmCipher(keys) : new CounterModeCipher(keys);
}

/** The length of the authentication tag an SRTP packet of `profile` ends with. */
export function srtpTagLength(profile: SrtpProfileName): number {
  return profile === "aead-aes-128-gcm" ? GCM_TAG : CM_TAG;
}

/** The SSRC of an SRTP packet (its header is in the clear), or -1 when it is too short for a header. */
export function srtpSsrc(data: Buffer): number {
  return data.length < 12 ? -1 : data.readUInt32BE(8);
}

/** The length of the RTP header (fixed part, CSRCs, extension block) at the start of `data`, or -1. */
function headerLength(data: Buffer, tagLength: number): number {
  const end = data.length - tagLength;
  if (end < 12 || data[0]! >> 6 !== 2) return -1;
  let length = 12 + (data[0]! & 0x0f) * 4;
  if (data[0]! & 0x10) {
    if (length + 4 > end) return -1;
    length += 4 + data.readUInt16BE(length + 2) * 4;
  }
  return length <= end ? length : -1;
}

const SHA1_BLOCK = 64;
const SHA1_BYTES = 20;
const CM_TAG = 10;
const GCM_TAG = 16;

class CounterModeCipher implements SrtpCipher {
  readonly #ecb: Cipheriv;
  /** The salt as words: IV = salt·2^16 XOR ssrc·2^64 XOR index·2^16 (RFC 3711 4.1.1). */
  readonly #salt0: number;
  readonly #salt1: number;
  readonly #salt2: number;
  /** Salt bytes 12-13, which the sequence number is XORed into. */
  readonly #salt3: number;
  /** Counter blocks for the keystream, one per 16 bytes of payload (grown for a larger payload). */
  #counters = Buffer.alloc(0);
  #counterView = new DataView(new ArrayBuffer(0));
  readonly #innerPad = Buffer.alloc(SHA1_BLOCK);
  /** The outer pad followed by the inner hash. */
  readonly #outer = Buffer.alloc(SHA1_BLOCK + SHA1_BYTES);

  constructor(keys: SrtpSessionKeys) {
    if (keys.authKey === undefined || keys.salt.length !== 14) throw new Error("AES-CM SRTP needs a 14-byte salt and an auth key");
    this.#ecb = createCipheriv("aes-128-ecb", keys.key, null);
    this.#ecb.setAutoPadding(false);
    const salt = Buffer.concat([keys.salt, Buffer.alloc(2)]);
    this.#salt0 = salt.readUInt32BE(0);
    this.#salt1 = salt.readUInt32BE(4);
    this.#salt2 = salt.readUInt32BE(8);
    this.#salt3 = salt.readUInt16BE(12);
    // HMAC (RFC 2104) with a key shorter than a block: H((K ^ opad) || H((K ^ ipad) || m)).
    this.#innerPad.fill(0x36);
    this.#outer.fill(0x5c, 0, SHA1_BLOCK);
    for (let i = 0; i < keys.authKey.length; i++) {
      this.#innerPad[i]! ^= keys.authKey[i]!;
      this.#outer[i]! ^= keys.authKey[i]!;
    }
    this.#grow(96); // a 1500-byte MTU's payload
  }

  /** Scratch for an incoming packet's MAC input: the inner pad, the packet, its rollover counter. */
  #macInput = Buffer.alloc(0);
  readonly #tag = Buffer.alloc(CM_TAG);

  protect(buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number): number {
    const payloadAt = SRTP_HEADROOM + headerLength;
    xorInto(buf, payloadAt, this.#keystream(length - headerLength, ssrc, seq, roc), length - headerLength);
    // The authenticated portion is the header and encrypted payload, then the rollover counter.
    const end = SRTP_HEADROOM + length;
    buf.writeUInt32BE(roc >>> 0, end);
    this.#innerPad.copy(buf, 0);
    buf.write(this.#mac(buf.subarray(0, end + 4)), end, CM_TAG, "hex");
    return length + CM_TAG;
  }

  unprotect(data: Buffer, rollover: RolloverCounter): Buffer {
    const headerBytes = headerLength(data, CM_TAG);
    if (headerBytes < 0) throw new SrtpUnprotectError("not an SRTP packet");
    const seq = data.readUInt16BE(2);
    const roc = rollover.estimate(seq);
    const length = data.length - CM_TAG;
    if (this.#macInput.length < SHA1_BLOCK + length + 4) {
      this.#macInput = Buffer.alloc(SHA1_BLOCK + length + 4 + 512);
      this.#innerPad.copy(this.#macInput, 0);
    }
    data.copy(this.#macInput, SHA1_BLOCK, 0, length);
    this.#macInput.writeUInt32BE(roc >>> 0, SHA1_BLOCK + length);
    this.#tag.write(this.#mac(this.#macInput.subarray(0, SHA1_BLOCK + length + 4)), 0, CM_TAG, "hex");
    if (!timingSafeEqual(this.#tag, data.subarray(length))) throw new SrtpUnprotectError("SRTP authentication failed");
    rollover.update(seq, roc);
    const plain = Buffer.allocUnsafe(length + 3); // room for the XOR's overrun to a word
    data.copy(plain, 0, 0, length);
    xorInto(plain, headerBytes, this.#keystream(length - headerBytes, data.readUInt32BE(8), seq, roc), length - headerBytes);
    return plain.subarray(0, length);
  }

  /** The counter-mode keystream for a payload of `payloadLength` bytes (at least that long). */
  #keystream(payloadLength: number, ssrc: number, seq: number, roc: number): Buffer {
    const blocks = (payloadLength + 15) >>> 4;
    if (blocks > this.#counters.length >>> 4) this.#grow(blocks);
    const counters = this.#counterView;
    const w1 = (ssrc ^ this.#salt1) >>> 0;
    const w2 = (roc ^ this.#salt2) >>> 0;
    const w3 = ((seq ^ this.#salt3) << 16) >>> 0;
    for (let b = 0, at = 0; b < blocks; b++, at += 16) {
      counters.setUint32(at + 4, w1);
      counters.setUint32(at + 8, w2);
      counters.setUint32(at + 12, (w3 | b) >>> 0);
    }
    return this.#ecb.update(this.#counters.subarray(0, blocks << 4));
  }

  /** HMAC-SHA1 (hex) of `input`, whose first block is already the inner pad. */
  #mac(input: Buffer): string {
    this.#outer.write(hash("sha1", input, "hex"), SHA1_BLOCK, SHA1_BYTES, "hex");
    return hash("sha1", this.#outer, "hex");
  }

  #grow(blocks: number): void {
    this.#counters = Buffer.alloc(blocks << 4);
    this.#counterView = new DataView(this.#counters.buffer, this.#counters.byteOffset, this.#counters.length);
    for (let at = 0; at < this.#counters.length; at += 16) this.#counterView.setUint32(at, this.#salt0);
  }
}

/** buf[at, at + length) ^= keystream[0, length); may write up to 3 bytes past the end (SRTP_TRAILER). */
function xorInto(buf: Buffer, at: number, keystream: Buffer, length: number): void {
  if (((buf.byteOffset + at) & 3) === 0 && (keystream.byteOffset & 3) === 0 && keystream.length >= ((length + 3) & ~3)) {
    const words = (length + 3) >>> 2;
    const target = new Int32Array(buf.buffer, buf.byteOffset + at, words);
    const source = new Int32Array(keystream.buffer, keystream.byteOffset, words);
    for (let i = 0; i < words; i++) target[i]! ^= source[i]!;
    return;
  }
  for (let i = 0; i < length; i++) buf[at + i]! ^= keystream[i]!;
}

class GcmCipher implements SrtpCipher {
  readonly #key: KeyObject;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(12);

  constructor(keys: SrtpSessionKeys) {
    // werift derives 14 bytes, of which the IV uses the first 12 (the KDF's output is a prefix either way).
    if (keys.salt.length < 12) throw new Error("AEAD-AES-GCM SRTP needs a 12-byte salt");
    this.#key = createSecretKey(keys.key);
    this.#salt = keys.salt.subarray(0, 12);
  }

  protect(buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number): number {
    const cipher = createCipheriv("aes-128-gcm", this.#key, this.#ivFor(ssrc, seq, roc));
    const payloadAt = SRTP_HEADROOM + headerLength;
    cipher.setAAD(buf.subarray(SRTP_HEADROOM, payloadAt));
    cipher.update(buf.subarray(payloadAt, SRTP_HEADROOM + length)).copy(buf, payloadAt);
    cipher.final();
    cipher.getAuthTag().copy(buf, SRTP_HEADROOM + length);
    return length + GCM_TAG;
  }

  unprotect(data: Buffer, rollover: RolloverCounter): Buffer {
    const headerBytes = headerLength(data, GCM_TAG);
    if (headerBytes < 0) throw new SrtpUnprotectError("not an SRTP packet");
    const seq = data.readUInt16BE(2);
    const roc = rollover.estimate(seq);
    const length = data.length - GCM_TAG;
    const decipher = createDecipheriv("aes-128-gcm", this.#key, this.#ivFor(data.readUInt32BE(8), seq, roc));
    decipher.setAAD(data.subarray(0, headerBytes));
    decipher.setAuthTag(data.subarray(length));
    const plain = Buffer.allocUnsafe(length);
    data.copy(plain, 0, 0, headerBytes);
    decipher.update(data.subarray(headerBytes, length)).copy(plain, headerBytes);
    try {
      decipher.final();
    } catch {
      throw new SrtpUnprotectError("SRTP authentication failed");
    }
    rollover.update(seq, roc);
    return plain;
  }

  /** IV = (00 00 || SSRC || ROC || SEQ) XOR salt (RFC 7714 8.1), in a reused Buffer. */
  #ivFor(ssrc: number, seq: number, roc: number): Buffer {
    const iv = this.#iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc >>> 0, 2);
    iv.writeUInt32BE(roc >>> 0, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) iv[i]! ^= this.#salt[i]!;
    return iv;
  }
}

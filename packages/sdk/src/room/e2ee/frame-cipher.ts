/**
 * The frame format of end-to-end encryption (docs/e2ee.md), as pure functions over WebCrypto: the
 * worker runs them on every encoded frame, and node tests (and test code reading what the relay
 * forwards) run the very same functions.
 *
 *   [ clear header | AES-GCM ciphertext + 16-byte tag | 12-byte IV | clear length | key index ]
 *
 * The clear header is the start of the codec's own frame, left readable because the relay needs it:
 * VP8's payload header (RFC 6386 9.1: the frame tag, 3 bytes, whose first bit says key or delta frame;
 * a keyframe's start code and size, 7 more) is how the relay finds keyframes to switch simulcast layers
 * on; Opus's TOC byte says the frame's mode. It is authenticated (GCM additional data), so the relay
 * can read it but not change it unnoticed. The IV is a random 8-byte prefix per encrypting transform
 * and a 4-byte frame counter: never the same twice under one key, whoever else shares the key.
 *
 * Every function here must stand alone (no imports, no module-level helpers): the worker is built from
 * their source text (frame-crypto-worker.ts).
 */

/** Bytes after the ciphertext: IV, clear length, key index. */
export const TRAILER_BYTES = 14;

/** How many leading bytes of a frame stay in clear: VP8's frame tag (3), a keyframe's 10, Opus's TOC (1). */
export function clearBytes(kind: "audio" | "video", keyframe: boolean, length: number): number {
  return Math.min(kind === "audio" ? 1 : keyframe ? 10 : 3, length);
}

/** Encrypts one frame under `key` (announced as `keyIndex`, 0-255) with this 12-byte `iv`. */
export async function encryptFrame(key: CryptoKey, keyIndex: number, frame: ArrayBuffer, clear: number, iv: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  const header = new Uint8Array(frame, 0, clear);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: header }, key, new Uint8Array(frame, clear)));
  const out = new Uint8Array(clear + sealed.byteLength + 14);
  out.set(header, 0);
  out.set(sealed, clear);
  out.set(iv, clear + sealed.byteLength);
  out[out.length - 2] = clear;
  out[out.length - 1] = keyIndex;
  return out.buffer;
}

/** The key index an encrypted frame names, or -1 when it is too short to be one. */
export function frameKeyIndex(frame: ArrayBuffer): number {
  return frame.byteLength < 14 + 16 ? -1 : new Uint8Array(frame)[frame.byteLength - 1]!;
}

/** The plaintext frame, or undefined when `key` does not open it (another key, tampered, or not encrypted). */
export async function decryptFrame(key: CryptoKey, frame: ArrayBuffer): Promise<ArrayBuffer | undefined> {
  const bytes = new Uint8Array(frame);
  if (bytes.length < 14 + 16) return undefined;
  const clear = bytes[bytes.length - 2]!;
  const ivAt = bytes.length - 14;
  if (clear > ivAt - 16) return undefined;
  const header = bytes.subarray(0, clear);
  let opened: ArrayBuffer;
  try {
    opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(ivAt, ivAt + 12), additionalData: header }, key, bytes.subarray(clear, ivAt));
  } catch {
    return undefined;
  }
  const out = new Uint8Array(clear + opened.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(opened), clear);
  return out.buffer;
}

/** A raw 128-bit AES-GCM key from a passphrase (PBKDF2-SHA-256, 100,000 rounds, a fixed salt: every participant derives the same key). */
export async function keyFromPassphrase(passphrase: string): Promise<ArrayBuffer> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveBits"]);
  return crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new TextEncoder().encode("sfu-room frame encryption"), iterations: 100_000 }, material, 128);
}

/** Imports raw key bytes (16 or 32) as an AES-GCM key. */
export function importFrameKey(raw: ArrayBuffer): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

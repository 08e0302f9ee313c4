/**
 * The frame format of end-to-end encryption (src/room/e2ee/frame-cipher.ts) with Node's WebCrypto: the
 * functions the worker runs in the browser. What must hold: the codec's header stays readable (the relay
 * finds keyframes by it), everything after it is unreadable without the key, a wrong key or a changed
 * byte makes the frame not open, and passphrases give the same key everywhere.
 */
import { describe, expect, it } from "vitest";
import { clearBytes, decryptFrame, encryptFrame, frameKeyIndex, importFrameKey, keyFromPassphrase } from "../src/room/e2ee/frame-cipher.ts";
import { frameCryptoWorkerSource } from "../src/room/e2ee/frame-crypto-worker.ts";
import { KeyProvider } from "../src/room/e2ee/key-provider.ts";

/** A VP8 keyframe as an encoder makes it: frame tag (P bit 0), start code 9d 01 2a, 640x360, then data. */
function vp8Keyframe(bytes = 300): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(bytes);
  frame.set([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
  for (let i = 10; i < bytes; i++) frame[i] = (i * 7) & 0xff;
  return frame;
}
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const iv = (n: number) => Uint8Array.from({ length: 12 }, (_, i) => (i === 11 ? n : 0xa0 + i));

describe("frame encryption format", () => {
  it("keeps VP8's 10 keyframe header bytes in clear, encrypts the rest, and opens with the key", async () => {
    const key = await importFrameKey(await keyFromPassphrase("s3cret"));
    const plain = vp8Keyframe();
    const sealed = new Uint8Array(await encryptFrame(key, 7, plain.slice().buffer, clearBytes("video", true, plain.length), iv(1)));
    expect(sealed.length).toBe(300 + 16 + 14);
    expect([...sealed.subarray(0, 10)]).toEqual([...plain.subarray(0, 10)]);
    // Not one 16-byte run of the payload survives in the ciphertext.
    const cipher = hex(sealed.subarray(10, 300));
    for (let at = 10; at + 16 <= 300; at += 16) expect(cipher.includes(hex(plain.subarray(at, at + 16)))).toBe(false);
    expect(frameKeyIndex(sealed.buffer)).toBe(7);
    expect(sealed[sealed.length - 2]).toBe(10);
    expect(new Uint8Array((await decryptFrame(key, sealed.buffer))!)).toEqual(plain);
  });

  it("leaves 3 bytes of a delta frame and 1 of an Opus frame in clear", () => {
    expect(clearBytes("video", false, 900)).toBe(3);
    expect(clearBytes("video", true, 900)).toBe(10);
    expect(clearBytes("audio", false, 80)).toBe(1);
    expect(clearBytes("video", true, 4)).toBe(4);
  });

  it("does not open under another passphrase, with a changed clear byte, or a frame never encrypted", async () => {
    const key = await importFrameKey(await keyFromPassphrase("s3cret"));
    const other = await importFrameKey(await keyFromPassphrase("s3cret!"));
    const sealed = new Uint8Array(await encryptFrame(key, 0, vp8Keyframe().buffer, 10, iv(2)));
    expect(await decryptFrame(other, sealed.slice().buffer)).toBeUndefined();
    const tampered = sealed.slice();
    tampered[0]! ^= 0x01; // the relay flips the keyframe bit it can read
    expect(await decryptFrame(key, tampered.buffer)).toBeUndefined();
    expect(await decryptFrame(key, vp8Keyframe().buffer)).toBeUndefined();
    expect(await decryptFrame(key, new Uint8Array(20).buffer)).toBeUndefined();
  });

  it("derives the same key from the same passphrase, and 16 bytes of it", async () => {
    const a = new Uint8Array(await keyFromPassphrase("room key"));
    expect(a.length).toBe(16);
    expect(new Uint8Array(await keyFromPassphrase("room key"))).toEqual(a);
    expect(new Uint8Array(await keyFromPassphrase("room kez"))).not.toEqual(a);
  });

  it("builds a worker program that names no module-level helper (it runs from its source text)", () => {
    const source = frameCryptoWorkerSource();
    expect(source).not.toMatch(/\bimport\b|\brequire\(/);
    // Runs as a script: every function it calls is defined in it.
    expect(() => new Function("self", `${source.replace(/\n\w+\(\);\n$/, "")}`)).not.toThrow();
  });
});

describe("KeyProvider", () => {
  it("uses the first key set, switches only on useKey, and refuses what cannot be a key", async () => {
    const keys = new KeyProvider();
    const used: number[] = [];
    keys.on("key-used", ({ index }) => used.push(index));
    expect(keys.currentIndex).toBe(-1);
    await keys.setKey("first");
    await keys.setKey(new Uint8Array(32).fill(1), 1);
    expect(keys.currentIndex).toBe(0);
    keys.useKey(1);
    expect(keys.currentIndex).toBe(1);
    expect(used).toEqual([0, 1]);
    expect(() => keys.useKey(2)).toThrow("no key with index 2: setKey() it first");
    await expect(keys.setKey(new Uint8Array(8), 3)).rejects.toThrow("a raw key is 16 or 32 bytes (AES-128 or AES-256), not 8");
    await expect(keys.setKey("x", 256)).rejects.toThrow("key index 256 is not an integer from 0 to 255");
    expect([...keys.keys().keys()]).toEqual([0, 1]);
  });
});

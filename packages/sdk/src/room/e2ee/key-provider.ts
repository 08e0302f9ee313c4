/**
 * The keys of end-to-end encryption, as the page hands them in (docs/e2ee.md). Distributing them is the
 * application's job: every participant sets the same keys under the same indices. Frames name the index
 * they were encrypted with, so keys rotate without a gap: set the new key everywhere first (receivers
 * can then open frames under either), then `useKey()` it to encrypt with it.
 *
 *   const keys = new KeyProvider();
 *   await keys.setKey("correct horse battery staple");      // index 0, used from now on
 *   await room.connect(url, "standup", { name, e2ee: { keyProvider: keys } });
 *   await keys.setKey(nextSecret, 1); keys.useKey(1);        // later: rotate
 */
import { Emitter } from "../emitter.ts";
import { keyFromPassphrase } from "./frame-cipher.ts";

export interface KeyProviderEvents {
  "key-set": { index: number; raw: ArrayBuffer };
  "key-used": { index: number };
}

export class KeyProvider extends Emitter<KeyProviderEvents> {
  readonly #keys = new Map<number, ArrayBuffer>();
  #current = -1;

  /** The index frames are encrypted with (-1 before the first key). */
  get currentIndex(): number {
    return this.#current;
  }

  /**
   * Sets the key of `index` (0-255): a passphrase (stretched with PBKDF2) or 16 or 32 raw bytes. The
   * first key set is used for encryption at once; later ones only once `useKey()` names them.
   */
  async setKey(secret: string | ArrayBuffer | Uint8Array, index = 0): Promise<void> {
    if (!Number.isInteger(index) || index < 0 || index > 255) throw new RangeError(`key index ${index} is not an integer from 0 to 255`);
    const raw = typeof secret === "string" ? await keyFromPassphrase(secret) : new Uint8Array(secret).slice().buffer;
    if (raw.byteLength !== 16 && raw.byteLength !== 32) throw new RangeError(`a raw key is 16 or 32 bytes (AES-128 or AES-256), not ${raw.byteLength}; pass a string to use a passphrase`);
    this.#keys.set(index, raw);
    this.emit("key-set", { index, raw });
    if (this.#current < 0) this.useKey(index);
  }

  /** Encrypts with the key of `index` from now on (set it first). */
  useKey(index: number): void {
    if (!this.#keys.has(index)) throw new RangeError(`no key with index ${index}: setKey() it first`);
    this.#current = index;
    this.emit("key-used", { index });
  }

  /** Every key set so far, by index. */
  keys(): ReadonlyMap<number, ArrayBuffer> {
    return this.#keys;
  }
}

/**
 * End-to-end encryption for <sfu-room> (the `e2ee-key` attribute, docs/e2ee.md): one KeyProvider for
 * the element's life, holding the attribute's passphrase as key 0. A changed passphrase replaces key 0
 * in place, live (everyone must change it; frames under the other one stop opening meanwhile). Turning
 * encryption on or off changes the join target, so the element joins again.
 */
import { type ConnectOptions, KeyProvider } from "../room/index.ts";

export class E2eeController {
  readonly #keys = new KeyProvider();
  /** The passphrase key 0 holds now ("" before any). */
  #passphrase = "";

  /** Connect options for a join with `passphrase` ("": no encryption). */
  connectOptions(passphrase: string): Pick<ConnectOptions, "e2ee"> {
    return passphrase ? { e2ee: { keyProvider: this.#keys } } : {};
  }

  /**
   * The attribute changed: key 0 becomes the new passphrase, in the running session too. Deriving it
   * takes a moment; a session that starts meanwhile sends nothing until it is set (never in clear).
   */
  keySet(passphrase: string): void {
    if (!passphrase || passphrase === this.#passphrase) return;
    this.#passphrase = passphrase;
    void this.#keys.setKey(passphrase, 0);
  }
}

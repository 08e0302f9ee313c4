/**
 * "Tap to enable audio": a browser may refuse to start audio without a user gesture (mobile Safari,
 * Chrome on a page nobody has touched). The playAudio directive reports each <audio> it could not
 * start; while any is waiting the element shows a button, and the tap on it (a gesture) starts them.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";

export class AudioUnlockController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #waiting = new Set<HTMLMediaElement>();

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  /** Some audio waits for a gesture: show the button. */
  get blocked(): boolean {
    return this.#waiting.size > 0;
  }

  /** `element` refused to play for want of a gesture (NotAllowedError). */
  refused(element: HTMLMediaElement): void {
    if (this.#waiting.has(element)) return;
    this.#waiting.add(element);
    if (this.#waiting.size === 1) this.#host.requestUpdate();
  }

  /** `element` plays, or is gone: it no longer waits. */
  forget(element: HTMLMediaElement): void {
    if (this.#waiting.delete(element) && this.#waiting.size === 0) this.#host.requestUpdate();
  }

  /** Call from the button's click handler: inside the gesture, every waiting element may start. */
  unlock(): void {
    for (const element of this.#waiting) {
      element.play().then(
        () => this.forget(element),
        () => undefined, // still refused: the button stays
      );
    }
  }

  hostDisconnected(): void {
    // The <audio> elements pause with the element; they try again when it comes back.
    this.#waiting.clear();
  }
}

/**
 * The size of the stage (the area above the control bar), which the grid layout divides into tiles.
 * The template hands the stage over with `${ref(stageSize.observe)}` (Lit calls it again with
 * undefined when the element leaves the page, and with the stage when it comes back); a
 * ResizeObserver follows it and re-renders the host when the size changes.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";

export class StageSizeController implements ReactiveController {
  width = 0;
  height = 0;
  readonly #host: ReactiveControllerHost;
  #observer: ResizeObserver | undefined;
  #frame = 0;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  /** The ref callback (one function for the controller's life, so the ref never re-binds). */
  readonly observe = (stage: Element | undefined): void => {
    this.#observer?.disconnect();
    this.#observer = undefined;
    if (!stage || typeof ResizeObserver === "undefined") return;
    this.#observer = new ResizeObserver((entries) => {
      const box = entries.at(-1)?.contentRect;
      if (!box || (Math.abs(box.width - this.width) < 1 && Math.abs(box.height - this.height) < 1)) return;
      this.width = box.width;
      this.height = box.height;
      // Next frame: re-rendering inside the observer's delivery would be a "ResizeObserver loop".
      cancelAnimationFrame(this.#frame);
      this.#frame = requestAnimationFrame(() => this.#host.requestUpdate());
    });
    this.#observer.observe(stage);
  };

  hostDisconnected(): void {
    // A size that arrived just before leaving is applied when the stage is observed again.
    cancelAnimationFrame(this.#frame);
    this.width = 0;
    this.height = 0;
  }
}

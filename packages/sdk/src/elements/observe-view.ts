/**
 * `<video ${observeView(track)}>`: reports how the element shows a remote video (RemoteTrack's
 * observeElement: size in device pixels, whether it can be seen), so the relay forwards the simulcast
 * layer that fits the tile and pauses videos nobody can see. The template passes the track only while
 * the tile shows its media: a tile waiting for media has its <video> hidden, and observing that would
 * report "not visible" and pause the very video it waits for. Releasing happens when the track changes
 * (or becomes undefined), when the tile leaves the grid, and when the element leaves the page.
 */
import { noChange } from "lit";
import { AsyncDirective, directive, PartType, type ElementPart, type PartInfo } from "lit/async-directive.js";
import type { RemoteTrack } from "../room/index.ts";

class ObserveView extends AsyncDirective {
  #element: HTMLElement | undefined;
  #track: RemoteTrack | undefined;
  #release: (() => void) | undefined;

  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error("observeView() belongs on an element: <video ${observeView(track)}>");
  }

  render(_track: RemoteTrack | undefined): unknown {
    return noChange;
  }

  override update(part: ElementPart, [track]: [RemoteTrack | undefined]): unknown {
    this.#element = part.element as HTMLElement;
    if (track !== this.#track) {
      this.#stop();
      this.#track = track;
      if (this.isConnected) this.#start();
    }
    return noChange;
  }

  protected override disconnected(): void {
    this.#stop();
  }

  protected override reconnected(): void {
    this.#start();
  }

  #start(): void {
    if (this.#track && this.#element) this.#release = this.#track.observeElement(this.#element);
  }

  #stop(): void {
    this.#release?.();
    this.#release = undefined;
  }
}

export const observeView = directive(ObserveView);

/**
 * `<audio ${playAudio(track, unlock)}>`: plays a remote audio track. Sound has elements of its own
 * because the tiles' videos stay muted (muted video may always autoplay, so a blocked sound never
 * stops a picture). A refusal for want of a user gesture goes to the AudioUnlockController, which
 * offers "Tap to enable audio".
 */
import { noChange } from "lit";
import { AsyncDirective, directive, PartType, type ElementPart, type PartInfo } from "lit/async-directive.js";
import type { AudioUnlockController } from "./audio-unlock.ts";
import { streamOf } from "./streams.ts";

class PlayAudio extends AsyncDirective {
  #element: HTMLAudioElement | undefined;
  #unlock: AudioUnlockController | undefined;
  #stream: MediaStream | null = null;

  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error("playAudio() belongs on an element: <audio ${playAudio(track, unlock)}>");
  }

  render(_track: MediaStreamTrack | undefined, _unlock: AudioUnlockController): unknown {
    return noChange;
  }

  override update(part: ElementPart, [track, unlock]: [MediaStreamTrack | undefined, AudioUnlockController]): unknown {
    this.#element = part.element as HTMLAudioElement;
    this.#unlock = unlock;
    const stream = streamOf(track);
    if (stream !== this.#stream) {
      this.#stream = stream;
      this.#element.srcObject = stream;
      this.#play();
    }
    return noChange;
  }

  protected override disconnected(): void {
    if (this.#element) this.#unlock?.forget(this.#element);
  }

  protected override reconnected(): void {
    this.#play(); // a media element pauses when it leaves the document
  }

  #play(): void {
    const element = this.#element;
    if (element && !this.#stream) this.#unlock?.forget(element); // nothing left to play: no "tap to enable" for it
    if (!element || !this.#stream || !this.isConnected) return;
    element.play().then(
      () => this.#unlock?.forget(element),
      (e: unknown) => {
        if (e instanceof DOMException && e.name === "NotAllowedError" && this.isConnected) this.#unlock?.refused(element);
      },
    );
  }
}

export const playAudio = directive(PlayAudio);

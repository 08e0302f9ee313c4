/**
 * The speaker layout's choice (`layout="speaker"`): whose camera takes the stage. The relay's dominant
 * speaker (`Room.activeSpeakers`, dominant first) when it is someone else; and it stays there through
 * the silence after they stop (as in Meet and Whereby: the stage does not fall back to a grid between
 * sentences), until another remote participant becomes dominant or they leave. Your own voice never
 * puts you on your own stage.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { Room } from "../room/index.ts";

export class SpeakerStageController implements ReactiveController {
  readonly #room: () => Room | undefined;
  /** The participant on the stage; undefined: nobody has spoken yet (the grid). */
  #featured: string | undefined;

  constructor(host: ReactiveControllerHost, room: () => Room | undefined) {
    this.#room = room;
    host.addController(this);
  }

  /** Whose camera tile the stage shows now, read before each render (speaker changes re-render the tiles). */
  featured(): string | undefined {
    const room = this.#room();
    if (!room) return (this.#featured = undefined);
    const dominant = room.activeSpeakers[0];
    if (dominant !== undefined && dominant !== room.local) this.#featured = dominant.id;
    if (this.#featured !== undefined && !room.participants.has(this.#featured)) this.#featured = undefined;
    return this.#featured;
  }

  hostDisconnected(): void {
    this.#featured = undefined;
  }
}

/**
 * Keeps the set of participants who are speaking, a few times a second: the others as the relay decided
 * (`isSpeaking`, from `active-speakers`: the same for everyone in the room, with its own hold), this
 * client from its own microphone level (no round trip, and it works before the relay has decided).
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { Room } from "../room/index.ts";

/** Key used for this client in the speaking set. */
export const SELF = "self";
const THRESHOLD = 0.04;
const HOLD_MS = 700;
const POLL_MS = 300;

export class SpeakingController implements ReactiveController {
  speaking = new Set<string>();
  #lastHeardSelf = -Infinity;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  readonly #host: ReactiveControllerHost;
  readonly #room: () => Room | undefined;

  constructor(host: ReactiveControllerHost, room: () => Room | undefined) {
    this.#host = host;
    this.#room = room;
    host.addController(this);
  }

  hostConnected(): void {
    this.#timer ??= setInterval(() => void this.#poll(), POLL_MS);
  }

  hostDisconnected(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    const room = this.#room();
    if (this.#polling) return;
    if (!room || room.state === "disconnected") {
      if (this.speaking.size) {
        this.speaking = new Set();
        this.#host.requestUpdate();
      }
      return;
    }
    this.#polling = true;
    try {
      const now = performance.now();
      const own = await room.local.audioLevel().catch(() => 0);
      if (own > THRESHOLD) this.#lastHeardSelf = now;
      const next = new Set<string>();
      if (now - this.#lastHeardSelf < HOLD_MS) next.add(SELF);
      for (const participant of room.participants.values()) if (participant.isSpeaking) next.add(participant.id);
      if (next.size !== this.speaking.size || [...next].some((id) => !this.speaking.has(id))) {
        this.speaking = next;
        this.#host.requestUpdate();
      }
    } finally {
      this.#polling = false;
    }
  }
}

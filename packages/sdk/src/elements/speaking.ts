/** Polls audio levels a few times a second and keeps the set of participants who are speaking. */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { Room } from "../room/index.ts";

/** Key used for this client in the speaking set. */
export const SELF = "self";
const THRESHOLD = 0.04;
const HOLD_MS = 700;
const POLL_MS = 300;

export class SpeakingController implements ReactiveController {
  speaking = new Set<string>();
  readonly #lastHeard = new Map<string, number>();
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
      for (const participant of room.participants.values()) {
        const level = Math.max(0, ...participant.audioTracks.filter((t) => !t.muted).map((t) => t.audioLevel));
        if (level > THRESHOLD) this.#lastHeard.set(participant.id, now);
      }
      const own = await room.local.audioLevel().catch(() => 0);
      if (own > THRESHOLD) this.#lastHeard.set(SELF, now);
      const next = new Set<string>();
      for (const [id, at] of this.#lastHeard) {
        if (now - at < HOLD_MS) next.add(id);
        else this.#lastHeard.delete(id);
      }
      if (next.size !== this.speaking.size || [...next].some((id) => !this.speaking.has(id))) {
        this.speaking = next;
        this.#host.requestUpdate();
      }
    } finally {
      this.#polling = false;
    }
  }
}

/**
 * Whether this client is speaking, from its own microphone level, polled a few times a second: no
 * round trip, and it works before the relay has decided. The others' speaking state is the relay's
 * (`participant.isSpeaking`, from `active-speakers`: the same for everyone in the room, with its own
 * hold), and the element re-renders when it changes.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { Room } from "../room/index.ts";

/** The self tile's participant id while the Room has none yet. */
export const SELF = "self";
const THRESHOLD = 0.04;
const HOLD_MS = 700;
const POLL_MS = 300;

export class SpeakingController implements ReactiveController {
  selfSpeaking = false;
  #lastHeard = -Infinity;
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
    this.#polling = true;
    try {
      const now = performance.now();
      const connected = room !== undefined && room.state !== "disconnected";
      if (connected && (await room.local.audioLevel().catch(() => 0)) > THRESHOLD) this.#lastHeard = now;
      const speaking = connected && now - this.#lastHeard < HOLD_MS;
      if (speaking !== this.selfSpeaking) {
        this.selfSpeaking = speaking;
        this.#host.requestUpdate();
      }
    } finally {
      this.#polling = false;
    }
  }
}

/**
 * Adaptive stream: tells the relay how big each remote video is shown (`subscription-settings` with
 * the tile size in device pixels), so it forwards the simulcast layer that fits. Changes are batched
 * and sent at most every 500 ms; a size is sent again only when it changed by more than 10 %.
 */
import type { Room } from "../room/index.ts";

const DEBOUNCE_MS = 500;

export interface ShownVideo {
  trackId: string;
  /** CSS pixels. */
  width: number;
  height: number;
}

export class AdaptiveStream {
  readonly #sent = new Map<string, { width: number; height: number }>();
  #pending = new Map<string, { width: number; height: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #room: Room | undefined;

  /** Call after each render with the remote videos on screen. */
  update(room: Room | undefined, videos: ShownVideo[]): void {
    if (room !== this.#room) this.reset(room);
    if (!room || room.state === "disconnected") return;
    const dpr = typeof devicePixelRatio === "number" ? devicePixelRatio : 1;
    for (const v of videos) {
      const width = Math.round(v.width * dpr);
      const height = Math.round(v.height * dpr);
      if (width <= 0 || height <= 0) continue;
      const last = this.#pending.get(v.trackId) ?? this.#sent.get(v.trackId);
      if (last && Math.abs(last.width - width) <= last.width * 0.1 && Math.abs(last.height - height) <= last.height * 0.1) continue;
      this.#pending.set(v.trackId, { width, height });
    }
    if (this.#pending.size && !this.#timer) this.#timer = setTimeout(() => this.#flush(), DEBOUNCE_MS);
  }

  reset(room: Room | undefined): void {
    this.#room = room;
    this.#sent.clear();
    this.#pending.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    const room = this.#room;
    const batch = this.#pending;
    this.#pending = new Map();
    if (!room || room.state === "disconnected") return;
    for (const [trackId, size] of batch) {
      this.#sent.set(trackId, size);
      // unknown-track: the track went away meanwhile; nothing to do.
      room.setSubscriptionSettings(trackId, { ...size, visible: true }).catch(() => this.#sent.delete(trackId));
    }
  }
}

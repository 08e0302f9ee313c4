/**
 * Adaptive stream for <sfu-room>: every remote video element of the grid that shows media (the tile
 * template gives it `data-track-id` then) is observed (RemoteTrack's observeElement: its size in device
 * pixels, and whether it can be seen), so the relay forwards the simulcast layer that fits each tile
 * and pauses videos nobody can see. A tile still waiting for media is not observed: its hidden <video>
 * would report "not visible" and pause the very video it waits for. The element's `quality`
 * attribute is applied to each remote video once, and again whenever it changes (a quality set on a
 * track with the headless API in between stays until then).
 */
import type { RemoteTrack, Room, VideoQuality } from "../room/index.ts";

export class AdaptiveStream {
  readonly #bound = new Map<HTMLVideoElement, { track: RemoteTrack; release: () => void }>();
  /** The `quality` attribute value last applied to each track. */
  readonly #applied = new Map<RemoteTrack, VideoQuality>();
  #room: Room | undefined;

  /** Call after each render with the element's shadow root. */
  update(room: Room | undefined, root: ParentNode, quality: VideoQuality): void {
    if (room !== this.#room) this.reset(room);
    if (!room) return;
    const seen = new Set<HTMLVideoElement>();
    for (const video of Array.from(root.querySelectorAll<HTMLVideoElement>("video[data-track-id]"))) {
      const track = room.participants.get(video.dataset.participantId ?? "")?.tracks.get(video.dataset.trackId ?? "");
      if (!track) continue;
      seen.add(video);
      const bound = this.#bound.get(video);
      if (bound?.track === track) continue;
      bound?.release();
      this.#bound.set(video, { track, release: track.observeElement(video) });
    }
    for (const [video, bound] of this.#bound) {
      if (seen.has(video)) continue;
      bound.release();
      this.#bound.delete(video);
    }
    for (const { track } of this.#bound.values()) {
      if (this.#applied.get(track) === quality) continue;
      this.#applied.set(track, quality);
      void track.setQuality(quality).catch(() => undefined); // unknown-track: it went away meanwhile
    }
  }

  reset(room: Room | undefined): void {
    for (const bound of this.#bound.values()) bound.release();
    this.#bound.clear();
    this.#applied.clear();
    this.#room = room;
  }
}

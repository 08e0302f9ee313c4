/**
 * The element's `quality` for every remote video: applied to each track once, and to all of them again
 * whenever `quality` changes, so a quality set on one track with the headless API (RemoteTrack's
 * setQuality) stays until then. A track not received yet keeps it for when it is.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { RemoteTrack, Room, VideoQuality } from "../room/index.ts";

export class RemoteQualityController implements ReactiveController {
  readonly #room: () => Room | undefined;
  readonly #quality: () => VideoQuality;
  /** The `quality` last applied to each track (a new join brings new tracks). */
  readonly #applied = new WeakMap<RemoteTrack, VideoQuality>();

  constructor(host: ReactiveControllerHost, room: () => Room | undefined, quality: () => VideoQuality) {
    this.#room = room;
    this.#quality = quality;
    host.addController(this);
  }

  /** After each render: new tracks and a changed `quality` both come with one. */
  hostUpdated(): void {
    const room = this.#room();
    if (!room) return;
    const quality = this.#quality();
    for (const participant of room.participants.values()) {
      for (const track of participant.videoTracks) {
        if (this.#applied.get(track) === quality) continue;
        this.#applied.set(track, quality);
        void track.setQuality(quality).catch(() => undefined); // unknown-track: it went away meanwhile
      }
    }
  }
}

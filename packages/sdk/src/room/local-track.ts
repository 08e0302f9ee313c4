/** One of this client's own tracks (camera, microphone or screen), as captured and published. */
import type { TrackKind } from "@sfu-room/protocol";
import type { LocalSource } from "./local-media.ts";
import { type OutboundLayerStats, outboundStats } from "./local-stats.ts";

export class LocalTrack {
  /** Current capture; undefined while the camera is off. */
  mediaStreamTrack: MediaStreamTrack | undefined;
  /** Relay track id while published. */
  trackId: string | undefined;
  sender: RTCRtpSender | undefined;
  muted = false;

  constructor(readonly source: LocalSource, track: MediaStreamTrack) {
    this.mediaStreamTrack = track;
  }

  get kind(): TrackKind {
    return this.source === "microphone" || this.source === "screen-audio" ? "audio" : "video";
  }

  /** The capture device in use (from the track's settings). */
  get deviceId(): string | undefined {
    return this.mediaStreamTrack?.getSettings().deviceId;
  }

  /**
   * Outbound statistics, one entry per encoding (per simulcast layer, lowest first): rid, whether it is
   * active (dynacast pauses layers nobody receives), frames encoded, size, frame rate, bitrate.
   */
  getStats(): Promise<OutboundLayerStats[]> {
    return this.sender ? outboundStats(this.sender, this.#previous) : Promise.resolve([]);
  }

  /** @internal Last bytesSent per rid, for bitrates. */
  readonly #previous = new Map<string, { at: number; bytes: number }>();
}

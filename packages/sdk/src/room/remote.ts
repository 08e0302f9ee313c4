/** Other participants of the room and the tracks they publish, as this client sees them. */
import type { ParticipantInfo, TrackInfo, TrackKind, TrackSource } from "@sfu-room/protocol";

/** The parts of an inbound-rtp stats entry this SDK reports. */
export interface InboundStats {
  kind: TrackKind;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  /** Video only. */
  framesDecoded?: number;
  frameWidth?: number;
  frameHeight?: number;
  /** Audio only, 0..1. */
  audioLevel?: number;
  jitter?: number;
}

export class RemoteTrack {
  readonly id: string;
  readonly participantId: string;
  readonly kind: TrackKind;
  source: TrackSource;
  /** MIME type the publisher sends, e.g. "video/VP8". */
  codec: string;
  layers: string[];
  /** The publisher said the track is muted (camera off, microphone muted). */
  muted: boolean;
  /** The received media, while subscribed and negotiated. */
  mediaStreamTrack: MediaStreamTrack | undefined;
  /** The subscriber connection's receiver for this track, while subscribed. */
  receiver: RTCRtpReceiver | undefined;
  /** mid of the subscriber connection's m-line carrying it. */
  mid: string | undefined;

  constructor(info: TrackInfo) {
    this.id = info.id;
    this.participantId = info.participantId;
    this.kind = info.kind;
    this.source = info.source;
    this.codec = info.codec;
    this.layers = info.layers;
    this.muted = info.muted;
  }

  get subscribed(): boolean {
    return this.mediaStreamTrack !== undefined;
  }

  /** Current audio level 0..1 of an audio track from the receiver's synchronization sources (cheap, no stats call). */
  get audioLevel(): number {
    if (this.kind !== "audio" || !this.receiver || typeof this.receiver.getSynchronizationSources !== "function") return 0;
    const sources = this.receiver.getSynchronizationSources();
    return sources[0]?.audioLevel ?? 0;
  }

  /** The inbound-rtp statistics of this track, or undefined when not receiving. */
  async getStats(): Promise<InboundStats | undefined> {
    if (!this.receiver) return undefined;
    const report = await this.receiver.getStats();
    let found: InboundStats | undefined;
    report.forEach((entry: RTCStats) => {
      if (entry.type !== "inbound-rtp") return;
      const s = entry as RTCInboundRtpStreamStats;
      found = {
        kind: this.kind,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        ...(s.framesDecoded !== undefined ? { framesDecoded: s.framesDecoded } : {}),
        ...(s.frameWidth !== undefined ? { frameWidth: s.frameWidth } : {}),
        ...(s.frameHeight !== undefined ? { frameHeight: s.frameHeight } : {}),
        ...(s.audioLevel !== undefined ? { audioLevel: s.audioLevel } : {}),
        ...(s.jitter !== undefined ? { jitter: s.jitter } : {}),
      };
    });
    return found;
  }

  /** @internal */
  update(info: TrackInfo): void {
    this.source = info.source;
    this.codec = info.codec;
    this.layers = info.layers;
    this.muted = info.muted;
  }
}

export class RemoteParticipant {
  readonly id: string;
  readonly name: string;
  /** Published tracks by relay track id. */
  readonly tracks = new Map<string, RemoteTrack>();

  constructor(info: Pick<ParticipantInfo, "id" | "name">) {
    this.id = info.id;
    this.name = info.name;
  }

  /** The first track of a source (camera, microphone, screen). */
  trackBySource(source: TrackSource): RemoteTrack | undefined {
    for (const track of this.tracks.values()) if (track.source === source) return track;
    return undefined;
  }

  get cameraTrack(): RemoteTrack | undefined {
    return this.trackBySource("camera") ?? [...this.tracks.values()].find((t) => t.kind === "video" && t.source === "unknown");
  }

  get microphoneTrack(): RemoteTrack | undefined {
    return this.trackBySource("microphone") ?? [...this.tracks.values()].find((t) => t.kind === "audio" && t.source === "unknown");
  }

  get screenTrack(): RemoteTrack | undefined {
    return this.trackBySource("screen");
  }

  get audioTracks(): RemoteTrack[] {
    return [...this.tracks.values()].filter((t) => t.kind === "audio");
  }

  get videoTracks(): RemoteTrack[] {
    return [...this.tracks.values()].filter((t) => t.kind === "video");
  }
}

/** One published track: what it is, its measured layer bitrates, its keyframe throttles and loss detection. */
import type { LayerSize, TrackInfo, TrackKind, TrackSource } from "@sfu-room/protocol";
import { KeyframeThrottle } from "./keyframe-throttle.ts";
import { LayerRate } from "./layer-rate.ts";
import { NackGenerator } from "./nack-generator.ts";
import type { Participant } from "./participant.ts";
import type { Millis, MirroredTrack, NegotiatedTrack, OfferedTrack, TrackId } from "./types.ts";

/** A mirrored participant's track: its layers at the origin node (here it is one stream). */
export interface UpstreamLayers {
  readonly layers: readonly string[];
  readonly layerSizes: readonly LayerSize[] | undefined;
}

export class Publication {
  readonly id: TrackId;
  readonly publisher: Participant;
  /** The m-line of the publisher connection that carries it. */
  readonly mid: string;
  readonly kind: TrackKind;
  readonly source: TrackSource;
  readonly codec: string;
  readonly clockRate: number;
  /** Simulcast rids, lowest first; [] without simulcast. */
  readonly layers: readonly string[];
  /** Encoded size of each layer, when the publisher said (one per layer, or none). */
  readonly layerSizes: readonly LayerSize[] | undefined;
  muted: boolean;
  /** Measured bitrate per layer (the cost of sending it to one more subscriber). */
  readonly rate: LayerRate;
  /** One keyframe throttle per layer. */
  readonly throttles: readonly KeyframeThrottle[];
  /** Video: one NACK generator per layer (each has its own sequence space); audio: none (no NACK negotiated). */
  readonly nacks: readonly NackGenerator[];
  /** Set for a mirrored participant's track: the layers the origin has, which the pipe chooses from. */
  readonly upstream: UpstreamLayers | undefined;

  /** A track that arrives through another node's pipe: one layer here, its origin's layers in `upstream`. */
  static mirrored(publisher: Participant, track: MirroredTrack, keyframeRequestIntervalMs: Millis): Publication {
    const offered: OfferedTrack = { trackId: track.trackId, mid: "", kind: track.kind, source: track.source, layers: [], muted: track.muted };
    const upstream = { layers: [...track.layers], layerSizes: track.layerSizes?.length === track.layers.length ? track.layerSizes.map((l) => ({ ...l })) : undefined };
    return new Publication(publisher, offered, { trackId: track.trackId, codec: track.codec, clockRate: track.clockRate }, keyframeRequestIntervalMs, upstream);
  }

  constructor(publisher: Participant, offered: OfferedTrack, negotiated: NegotiatedTrack, keyframeRequestIntervalMs: Millis, upstream?: UpstreamLayers) {
    this.publisher = publisher;
    this.id = offered.trackId;
    this.mid = offered.mid;
    this.kind = offered.kind;
    this.source = offered.source;
    this.codec = negotiated.codec;
    this.clockRate = negotiated.clockRate;
    this.layers = [...offered.layers];
    this.layerSizes = offered.layerSizes?.length === this.layerCount ? offered.layerSizes.map((l) => ({ ...l })) : undefined;
    this.rate = new LayerRate(this.layerCount);
    this.muted = offered.muted;
    this.throttles = Array.from({ length: this.layerCount }, (_, layer) => new KeyframeThrottle(keyframeRequestIntervalMs, publisher.id, this.id, layer));
    this.nacks = this.kind === "video" ? Array.from({ length: this.layerCount }, () => new NackGenerator()) : [];
    this.upstream = upstream;
  }

  /** Number of layers: 1 without simulcast. */
  get layerCount(): number {
    return Math.max(1, this.layers.length);
  }

  get highestLayer(): number {
    return this.layerCount - 1;
  }

  /** Video starts and switches layers only on a keyframe; audio has none. */
  get keyframeGated(): boolean {
    return this.kind === "video";
  }

  info(): TrackInfo {
    return {
      id: this.id,
      participantId: this.publisher.id,
      kind: this.kind,
      source: this.source,
      codec: this.codec,
      layers: [...(this.upstream?.layers ?? this.layers)],
      muted: this.muted,
    };
  }
}

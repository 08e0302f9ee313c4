/** One published track: its description, its subscribers (the forwarding fan-out) and its keyframe throttles. */
import type { TrackInfo, TrackKind, TrackSource } from "@sfu-room/protocol";
import { KeyframeThrottle } from "./keyframe-throttle.ts";
import { LayerRate } from "./layer-rate.ts";
import type { Participant } from "./participant.ts";
import type { Subscription } from "./subscription.ts";
import type { LayerSize } from "./layer-selector.ts";
import type { Millis, PublishedTrackSpec, TrackId } from "./types.ts";

export class Publication {
  readonly id: TrackId;
  readonly kind: TrackKind;
  readonly source: TrackSource;
  readonly codec: string;
  readonly clockRate: number;
  /** Simulcast rids, lowest first; [] without simulcast. */
  readonly layers: readonly string[];
  /** Encoded size of each layer, when the publisher said. */
  readonly layerSizes: readonly LayerSize[] | undefined;
  /** Per layer: wanted by some subscriber, as last told to the publisher (dynacast). All at first. */
  layersWanted: boolean[];
  muted: boolean;
  /**
   * Subscriptions to this track: a plain array, walked for every RTP packet (the hot path), so no
   * lookups by key there. Order: creation order.
   */
  readonly subscriptions: Subscription[] = [];
  /** Measured bitrate per layer (the cost of sending it to one more subscriber). */
  readonly rate: LayerRate;
  /** One keyframe throttle per layer. */
  readonly throttles: readonly KeyframeThrottle[];

  readonly publisher: Participant;

  constructor(publisher: Participant, spec: PublishedTrackSpec, keyframeRequestIntervalMs: Millis) {
    this.publisher = publisher;
    this.id = spec.trackId;
    this.kind = spec.kind;
    this.source = spec.source;
    this.codec = spec.codec;
    this.clockRate = spec.clockRate;
    this.layers = [...spec.layers];
    this.layerSizes = spec.layerSizes?.length === this.layerCount ? spec.layerSizes.map((l) => ({ ...l })) : undefined;
    this.layersWanted = Array.from({ length: this.layerCount }, () => true);
    this.rate = new LayerRate(this.layerCount);
    this.muted = spec.muted;
    const throttles: KeyframeThrottle[] = [];
    for (let layer = 0; layer < this.layerCount; layer++) {
      throttles.push(new KeyframeThrottle(keyframeRequestIntervalMs, publisher.id, this.id, layer));
    }
    this.throttles = throttles;
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
      layers: [...this.layers],
      muted: this.muted,
    };
  }

  /** Which layers some subscription targets or still forwards now. */
  layersInUse(): boolean[] {
    const used = Array.from({ length: this.layerCount }, () => false);
    for (const sub of this.subscriptions) {
      if (sub.targetLayer >= 0) used[sub.targetLayer] = true;
      if (sub.currentLayer >= 0) used[sub.currentLayer] = true;
    }
    return used;
  }

  addSubscription(sub: Subscription): void {
    this.subscriptions.push(sub);
  }

  removeSubscription(sub: Subscription): void {
    const i = this.subscriptions.indexOf(sub);
    if (i >= 0) this.subscriptions.splice(i, 1);
  }
}

/**
 * Forwarding state of one (subscriber, track) pair.
 *
 *   pending ──subscription-ready──▶ awaiting keyframe (video) ──keyframe of target layer──▶ forwarding
 *                               └─▶ forwarding (audio)
 *   forwarding / awaiting ──not visible, or bandwidth paused──▶ paused ──visible and resumed──▶ awaiting keyframe
 *
 * Simulcast: the subscription forwards exactly one layer, `currentLayer` (-1 before the first and while
 * paused). The `targetLayer` is what the LayerSelector picks from the subscriber's wish (quality, tile
 * size, visibility) under the bandwidth cap `maxLayer`; -1 means paused. While target != current the
 * current layer is still forwarded, and the switch happens on the first keyframe packet of the target
 * layer: from that packet on only the target layer is forwarded, so two layers are never interleaved.
 */
import type { RtpInput, SubscriberSettings } from "./inputs.ts";
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";
import { DEFAULT_WISH, selectLayer, type SubscriberWish } from "./layer-selector.ts";
import { PictureIdRewriter } from "./picture-id-rewriter.ts";
import { RetransmissionHistory } from "./retransmission-history.ts";
import { SequenceRewriter } from "./sequence-rewriter.ts";
import type { SubscriptionId } from "./types.ts";

/** Counts layer switches across subscriptions (a plain field: the hot path increments it). */
export interface LayerSwitchCount {
  count: number;
}

export type SubscriptionState = "pending" | "paused" | "awaiting-keyframe" | "forwarding";

export class Subscription {
  /** Core-assigned, never reused. */
  readonly id: SubscriptionId;
  readonly subscriber: Participant;
  readonly publication: Publication;

  /** The subscriber's connection can carry it. */
  ready = false;
  /** The layer forwarded now; -1 before the first packet. */
  currentLayer = -1;
  /** The layer wanted (-1: paused); a switch to it happens on its next keyframe. */
  targetLayer: number;
  /** The highest layer allowed: the bandwidth cap (the BandwidthController's; `layer-preference` sets it directly). */
  maxLayer: number;
  /** Paused because the subscriber's link cannot carry even the lowest layer (BandwidthPause decides). */
  bandwidthPaused = false;
  /** What the subscriber asked for: quality, tile size, visibility. */
  wish: SubscriberWish = DEFAULT_WISH;
  readonly rewriter = new SequenceRewriter();
  readonly pictureIds = new PictureIdRewriter();
  /** Video: what was sent, for answering the subscriber's NACKs (audio has no NACK negotiated). */
  readonly history: RetransmissionHistory | undefined;
  private readonly switches: LayerSwitchCount;

  constructor(id: SubscriptionId, subscriber: Participant, publication: Publication, switches: LayerSwitchCount) {
    this.switches = switches;
    this.id = id;
    this.subscriber = subscriber;
    this.publication = publication;
    this.maxLayer = publication.highestLayer;
    this.targetLayer = this.maxLayer;
    this.history = publication.kind === "video" ? new RetransmissionHistory() : undefined;
  }

  get state(): SubscriptionState {
    if (!this.ready) return "pending";
    if (this.targetLayer < 0) return "paused";
    if (this.currentLayer < 0 && this.publication.keyframeGated) return "awaiting-keyframe";
    return "forwarding";
  }

  /** A keyframe of the target layer is needed before the subscriber gets what it wants. */
  get needsKeyframe(): boolean {
    return this.ready && this.publication.keyframeGated && this.targetLayer >= 0 && this.targetLayer !== this.currentLayer;
  }

  /** Mark ready. Returns true when a keyframe must now be requested (video) on `targetLayer`. */
  markReady(): boolean {
    if (this.ready) return false;
    this.ready = true;
    return this.needsKeyframe;
  }

  /** Set the bandwidth cap. Returns true when it starts a switch that needs a keyframe on `targetLayer`. */
  setMaxLayer(maxLayer: number): boolean {
    const highest = this.publication.highestLayer;
    this.maxLayer = Number.isFinite(maxLayer) ? Math.min(highest, Math.max(0, Math.floor(maxLayer))) : highest;
    return this.retarget();
  }

  /** Pause or resume for bandwidth. Returns true when resuming needs a keyframe on `targetLayer`. */
  setBandwidthPaused(paused: boolean): boolean {
    this.bandwidthPaused = paused;
    return this.retarget();
  }

  /** Update the subscriber's wish (the fields given). Returns true when a keyframe of the new `targetLayer` is needed. */
  setWish(change: SubscriberSettings): boolean {
    const wish = { ...this.wish };
    if (change.quality !== undefined) wish.quality = change.quality;
    if (change.width !== undefined) wish.width = change.width;
    if (change.height !== undefined) wish.height = change.height;
    if (change.visible !== undefined) wish.visible = change.visible;
    this.wish = wish;
    return this.retarget();
  }

  /** The layer the wish picks, ignoring bandwidth (what the allocator tries to afford); -1 = paused. */
  get wantedLayer(): number {
    const pub = this.publication;
    return pub.keyframeGated ? selectLayer(this.wish, pub.layerCount, pub.layerSizes, pub.highestLayer) : 0;
  }

  /** Re-run the LayerSelector. Audio has one layer and ignores wishes (it is never paused). */
  private retarget(): boolean {
    const before = this.targetLayer;
    const pub = this.publication;
    this.targetLayer = !pub.keyframeGated ? 0 : this.bandwidthPaused ? -1 : selectLayer(this.wish, pub.layerCount, pub.layerSizes, this.maxLayer);
    if (this.targetLayer < 0) this.currentLayer = -1; // paused: stop now; resuming starts at a keyframe
    return this.targetLayer !== before && this.needsKeyframe;
  }

  /**
   * The hot path: decide whether the packet is forwarded on this subscription; when it is, the output
   * seq/timestamp are in `rewriter.seq` / `rewriter.timestamp`, and the VP8 PictureID/TL0PICIDX in
   * `pictureIds.pictureId` / `pictureIds.tl0PicIdx`.
   */
  accept(packet: RtpInput): boolean {
    const layer = packet.layer;
    if (!this.ready || this.targetLayer < 0) return false;
    if (layer !== this.currentLayer) {
      if (layer !== this.targetLayer || (!packet.keyframe && this.publication.keyframeGated)) return false;
      if (this.currentLayer >= 0) this.switches.count++; // a start (first packet, after a pause) is no switch
      this.currentLayer = layer;
      this.rewriter.startLayer();
      this.pictureIds.startLayer();
    }
    if (!this.rewriter.rewrite(packet.seq, packet.timestamp, packet.now, this.publication.clockRate)) return false;
    this.pictureIds.rewrite(packet.pictureId, packet.tl0PicIdx);
    return true;
  }
}

/**
 * Forwarding state of one (subscriber, track) pair.
 *
 *   pending ──subscription-ready──▶ awaiting keyframe (video) ──keyframe of target layer──▶ forwarding
 *                               └─▶ forwarding (audio)
 *
 * Simulcast: the subscription forwards exactly one layer, `currentLayer` (-1 before the first). The
 * `targetLayer` is the highest layer at most `maxLayer`. While target != current the current layer is
 * still forwarded, and the switch happens on the first keyframe packet of the target layer: from that
 * packet on only the target layer is forwarded, so two layers are never interleaved.
 */
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";
import { SequenceRewriter } from "./sequence-rewriter.ts";
import type { Millis, SubscriptionId } from "./types.ts";

export type SubscriptionState = "pending" | "awaiting-keyframe" | "forwarding";

export class Subscription {
  /** Core-assigned, never reused. */
  readonly id: SubscriptionId;
  readonly subscriber: Participant;
  readonly publication: Publication;

  /** The subscriber's connection can carry it. */
  ready = false;
  /** The layer forwarded now; -1 before the first packet. */
  currentLayer = -1;
  /** The layer wanted; a switch to it happens on its next keyframe. */
  targetLayer: number;
  /** The subscriber's preference: the highest layer wanted. */
  maxLayer: number;
  readonly rewriter = new SequenceRewriter();

  constructor(id: SubscriptionId, subscriber: Participant, publication: Publication) {
    this.id = id;
    this.subscriber = subscriber;
    this.publication = publication;
    this.maxLayer = publication.highestLayer;
    this.targetLayer = this.maxLayer;
  }

  get state(): SubscriptionState {
    if (!this.ready) return "pending";
    if (this.currentLayer < 0 && this.publication.keyframeGated) return "awaiting-keyframe";
    return "forwarding";
  }

  /** A keyframe of the target layer is needed before the subscriber gets what it wants. */
  get needsKeyframe(): boolean {
    return this.ready && this.publication.keyframeGated && this.targetLayer !== this.currentLayer;
  }

  /** The layer a subscriber's keyframe request is about: the target while switching, else the current. */
  get keyframeLayer(): number {
    return this.targetLayer;
  }

  /** Mark ready. Returns true when a keyframe must now be requested (video) on `targetLayer`. */
  markReady(): boolean {
    if (this.ready) return false;
    this.ready = true;
    return this.needsKeyframe;
  }

  /**
   * Set the subscriber's preference. Returns true when it starts a switch that needs a keyframe on the
   * (new) `targetLayer`.
   */
  setMaxLayer(maxLayer: number): boolean {
    const highest = this.publication.highestLayer;
    const clamped = Number.isFinite(maxLayer) ? Math.min(highest, Math.max(0, Math.floor(maxLayer))) : highest;
    const before = this.targetLayer;
    this.maxLayer = clamped;
    this.targetLayer = clamped;
    return this.targetLayer !== before && this.needsKeyframe;
  }

  /**
   * The hot path: decide whether the packet is forwarded on this subscription; when it is, the output
   * seq/timestamp are in `rewriter.seq` / `rewriter.timestamp`.
   */
  accept(layer: number, keyframe: boolean, seq: number, timestamp: number, now: Millis): boolean {
    if (!this.ready) return false;
    if (layer !== this.currentLayer) {
      if (layer !== this.targetLayer || (!keyframe && this.publication.keyframeGated)) return false;
      this.currentLayer = layer;
      this.rewriter.startLayer();
    }
    return this.rewriter.rewrite(seq, timestamp, now, this.publication.clockRate);
  }
}

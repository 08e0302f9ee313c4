/**
 * Subscribing: the rules of receiving — who may subscribe to what, the subscriber's wishes (quality,
 * tile size, visibility), its keyframe requests, its bandwidth caps — and what follows when any of
 * them changes a subscription's target layer: the keyframe the switch needs, and dynacast.
 */
import type { BandwidthController, CapChange } from "./bandwidth-controller.ts";
import type { BandwidthPause } from "./congestion/bandwidth-pause.ts";
import type { CapacityCaps } from "./congestion/capacity-caps.ts";
import type { Dynacast } from "./dynacast.ts";
import type * as In from "./inputs.ts";
import type { KeyframeScheduler } from "./keyframe-scheduler.ts";
import type { LinkLimits } from "./link-limits.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";
import type { Publishing } from "./publishing.ts";
import type { Subscription } from "./subscription.ts";
import type { SubscriptionTable } from "./subscription-table.ts";
import type { Millis, TrackId } from "./types.ts";

export interface SubscribingParts {
  table: SubscriptionTable;
  publishing: Publishing;
  bandwidth: BandwidthController;
  capacity: CapacityCaps;
  pause: BandwidthPause;
  dynacast: Dynacast;
  keyframes: KeyframeScheduler;
  limits: LinkLimits;
  out: OutputQueue;
}

export class Subscribing {
  private readonly table: SubscriptionTable;
  private readonly publishing: Publishing;
  private readonly bandwidth: BandwidthController;
  private readonly capacity: CapacityCaps;
  private readonly pause: BandwidthPause;
  private readonly dynacast: Dynacast;
  private readonly keyframes: KeyframeScheduler;
  private readonly limits: LinkLimits;
  private readonly out: OutputQueue;

  constructor(parts: SubscribingParts) {
    this.table = parts.table;
    this.publishing = parts.publishing;
    this.bandwidth = parts.bandwidth;
    this.capacity = parts.capacity;
    this.pause = parts.pause;
    this.dynacast = parts.dynacast;
    this.keyframes = parts.keyframes;
    this.limits = parts.limits;
    this.out = parts.out;
  }

  /** Subscribes (when not already, and when their token allows receiving) and updates dynacast. */
  subscribe(subscriber: Participant, pub: Publication): void {
    if (!subscriber.grants.canSubscribe) return; // autoSubscribe, too, receives nothing
    if (this.table.add(subscriber, pub) !== undefined) this.dynacast.update(pub);
  }

  /** A `subscribe` request: to a track of another participant of the same room. */
  onSubscribe(subscriber: Participant, input: In.SubscribeInput): void {
    if (input.subscribe && !subscriber.grants.canSubscribe) {
      this.out.error(subscriber.id, input.requestId, "forbidden", "your token does not allow receiving tracks (its video grant has canSubscribe false)");
      return;
    }
    const pub = this.publishing.get(input.trackId);
    if (pub === undefined || pub.publisher.room !== subscriber.room) {
      this.out.error(subscriber.id, input.requestId, "unknown-track", `there is no track "${input.trackId}" in this room`);
      return;
    }
    if (pub.publisher === subscriber) {
      this.out.error(subscriber.id, input.requestId, "own-track", `track "${input.trackId}" is your own: you cannot subscribe to (or unsubscribe from) your own track`);
      return;
    }
    const existing = this.table.find(subscriber.id, pub.id);
    if (input.subscribe) this.subscribe(subscriber, pub);
    else if (existing !== undefined) {
      this.table.remove(existing, true);
      this.dynacast.update(pub);
    }
    this.out.ok(subscriber.id, input.requestId);
  }

  onSettings(subscriber: Participant, input: In.SubscriptionSettingsInput): void {
    const sub = this.received(subscriber, input.trackId, input.requestId);
    if (sub === undefined) return;
    this.retargeted(sub, sub.setWish(input.settings), input.now);
    this.out.ok(subscriber.id, input.requestId);
  }

  onKeyframeRequest(subscriber: Participant, input: In.KeyframeRequestInput): void {
    const sub = this.received(subscriber, input.trackId, input.requestId);
    if (sub === undefined) return;
    this.requestKeyframeFor(sub, input.now);
    this.out.ok(subscriber.id, input.requestId);
  }

  onPictureLoss(input: In.PictureLossInput): void {
    const sub = this.table.get(input.subscriptionId);
    if (sub !== undefined) this.requestKeyframeFor(sub, input.now);
  }

  onReady(input: In.SubscriptionReadyInput): void {
    const sub = this.table.get(input.subscriptionId);
    if (sub !== undefined && sub.markReady()) this.keyframes.request(sub.publication, sub.targetLayer, input.now);
  }

  onLayerPreference(input: In.LayerPreferenceInput): void {
    const sub = this.table.get(input.subscriptionId);
    if (sub !== undefined) this.retargeted(sub, sub.setMaxLayer(input.maxLayer), input.now);
  }

  onBandwidthEstimate(input: In.BandwidthEstimateInput): void {
    if (this.capacity.has(input.participantId)) return; // its transport-cc estimate caps it
    const received = this.table.ofSubscriber(input.participantId);
    this.capped(this.bandwidth.onEstimate(input.participantId, input.bitsPerSecond, received, input.now), input.now);
  }

  onTransportFeedback(input: In.TransportFeedbackInput): void {
    const received = this.table.ofSubscriber(input.participantId);
    this.capped(this.capacity.onFeedback(input.participantId, input.packets, received, input.now), input.now);
    const estimate = this.capacity.estimate(input.participantId)!;
    for (const sub of this.pause.onEstimate(received, estimate, input.now)) this.retargeted(sub, sub.setBandwidthPaused(true), input.now);
  }

  /** Time passed: videos paused for bandwidth whose hold is over resume, their cost the probe. */
  onTimeout(now: Millis): void {
    for (const { sub, probeBps } of this.pause.onTimeout(now, (s) => this.table.ofSubscriber(s.subscriber.id))) {
      if (this.table.get(sub.id) !== sub) continue; // removed while paused
      this.capacity.raiseTo(sub.subscriber.id, probeBps);
      this.retargeted(sub, sub.setBandwidthPaused(false), now);
    }
  }

  /** The subscriber left: its subscriptions go without renegotiation (its whole connection goes). */
  forget(subscriber: Participant): void {
    for (const sub of this.table.ofSubscriber(subscriber.id)) {
      this.table.remove(sub, false);
      this.dynacast.update(sub.publication);
    }
    this.bandwidth.forget(subscriber.id);
    this.capacity.forget(subscriber.id);
  }

  /** The subscription a request names, or undefined after sending `unknown-track`. */
  private received(subscriber: Participant, trackId: TrackId, requestId: string): Subscription | undefined {
    const sub = this.table.find(subscriber.id, trackId);
    if (sub === undefined) this.out.error(subscriber.id, requestId, "unknown-track", `you are not subscribed to a track "${trackId}"; subscribe first`);
    return sub;
  }

  /**
   * A subscriber's decoder wants a keyframe: of the target layer, which is also the current one unless
   * a switch is under way, and then the target's keyframe is what completes the switch.
   */
  private requestKeyframeFor(sub: Subscription, now: Millis): void {
    if (sub.ready && sub.publication.keyframeGated) this.keyframes.request(sub.publication, sub.targetLayer, now);
  }

  private capped(changes: readonly CapChange[], now: Millis): void {
    for (const { sub, maxLayer } of changes) this.retargeted(sub, sub.setMaxLayer(maxLayer), now);
  }

  /**
   * A subscription's wish or cap changed: ask for the keyframe a switch needs; the layers in use may
   * differ, and so may what the link limits.
   */
  private retargeted(sub: Subscription, needsKeyframe: boolean, now: Millis): void {
    if (needsKeyframe) this.keyframes.request(sub.publication, sub.targetLayer, now);
    this.dynacast.update(sub.publication);
    this.limits.update(sub);
  }
}

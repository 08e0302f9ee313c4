/**
 * SubscriptionTable: every (subscriber, track) link of the core, and the one place that adds and
 * removes them. It keeps the three ways links are looked up — by id (facts from the adapter), by
 * subscriber and track (a client's requests), by track (the fan-out of each RTP packet, the hot path:
 * a plain array) — and so they can never disagree.
 */
import type { OutputQueue } from "./output-queue.ts";
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";
import { type LayerSwitchCount, Subscription } from "./subscription.ts";
import type { ParticipantId, SubscriptionId, TrackId } from "./types.ts";

const NONE: readonly Subscription[] = Object.freeze([]);

export class SubscriptionTable {
  private readonly byId = new Map<SubscriptionId, Subscription>();
  private readonly bySubscriber = new Map<ParticipantId, Map<TrackId, Subscription>>();
  /** In creation order: the order of the fan-out. */
  private readonly byTrack = new Map<TrackId, Subscription[]>();
  private nextId: SubscriptionId = 1;
  /** Shared by every subscription, so switches of removed ones still count. */
  readonly layerSwitches: LayerSwitchCount = { count: 0 };
  private readonly out: OutputQueue;

  constructor(out: OutputQueue) {
    this.out = out;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every subscription (for counts). */
  all(): IterableIterator<Subscription> {
    return this.byId.values();
  }

  get(id: SubscriptionId): Subscription | undefined {
    return this.byId.get(id);
  }

  /** The subscriber's subscription to a track, if any. */
  find(subscriberId: ParticipantId, trackId: TrackId): Subscription | undefined {
    return this.bySubscriber.get(subscriberId)?.get(trackId);
  }

  /** What a participant receives, in creation order. */
  ofSubscriber(subscriberId: ParticipantId): readonly Subscription[] {
    const subs = this.bySubscriber.get(subscriberId);
    return subs === undefined ? NONE : [...subs.values()];
  }

  /** Who receives a track, in creation order (the hot path: do not keep the array). */
  ofTrack(trackId: TrackId): readonly Subscription[] {
    return this.byTrack.get(trackId) ?? NONE;
  }

  /** Links a subscriber to a track and asks the adapter for its m-line; undefined when it already was. */
  add(subscriber: Participant, pub: Publication): Subscription | undefined {
    let mine = this.bySubscriber.get(subscriber.id);
    if (mine?.has(pub.id)) return undefined;
    const sub = new Subscription(this.nextId++, subscriber, pub, this.layerSwitches);
    this.byId.set(sub.id, sub);
    if (mine === undefined) this.bySubscriber.set(subscriber.id, (mine = new Map()));
    mine.set(pub.id, sub);
    let fanout = this.byTrack.get(pub.id);
    if (fanout === undefined) this.byTrack.set(pub.id, (fanout = []));
    fanout.push(sub);
    this.out.push({
      type: "subscription-added",
      subscriptionId: sub.id,
      subscriberId: subscriber.id,
      publisherId: pub.publisher.id,
      trackId: pub.id,
      kind: pub.kind,
      codec: pub.codec,
    });
    return sub;
  }

  /**
   * Unlinks one subscription. `tellAdapter` false for a subscriber who leaves: their whole connection
   * goes, so their m-lines need no renegotiation.
   */
  remove(sub: Subscription, tellAdapter: boolean): void {
    if (!this.byId.delete(sub.id)) return;
    const subscriberId = sub.subscriber.id;
    const mine = this.bySubscriber.get(subscriberId);
    mine?.delete(sub.publication.id);
    if (mine?.size === 0) this.bySubscriber.delete(subscriberId);
    const fanout = this.byTrack.get(sub.publication.id);
    if (fanout !== undefined) {
      fanout.splice(fanout.indexOf(sub), 1);
      if (fanout.length === 0) this.byTrack.delete(sub.publication.id);
    }
    if (tellAdapter) this.out.push({ type: "subscription-removed", subscriptionId: sub.id, subscriberId });
  }
}

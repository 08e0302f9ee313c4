/**
 * The SFU state machine: rooms, participants, publications, subscriptions, forwarding and keyframe
 * throttling. No I/O: `handle(input)` changes state and queues outputs, `poll()` hands them out (see
 * index.ts for the run loop).
 */
import type { ErrorCode, ServerMessage } from "@sfu-room/protocol";
import type { KeyframeThrottle } from "./keyframe-throttle.ts";
import { OutputQueue } from "./output-queue.ts";
import { allocateLayers } from "./bandwidth-allocator.ts";
import { routeData } from "./data-routing.ts";
import { Participant } from "./participant.ts";
import { Publication } from "./publication.ts";
import { Room } from "./room.ts";
import { Subscription, type SubscriptionState } from "./subscription.ts";
import {
  DEFAULT_CORE_CONFIG,
  type CoreConfig,
  type CoreStats,
  type DataInput,
  type Input,
  type JoinInput,
  type KeyframeRequestInput,
  type LayerPreferenceInput,
  type LeaveInput,
  type Millis,
  type MuteInput,
  type Output,
  type ParticipantId,
  type PublishInput,
  type RtpInput,
  type SubscribeInput,
  type SubscriptionId,
  type SubscriptionReadyInput,
  type SubscriptionSettingsInput,
  type BandwidthEstimateInput,
  type TimeoutInput,
  type TrackId,
  type UnpublishInput,
} from "./types.ts";

/** A read-only view of one subscription, for adapters' diagnostics and tests. */
export interface SubscriptionView {
  subscriptionId: SubscriptionId;
  subscriberId: ParticipantId;
  publisherId: ParticipantId;
  trackId: TrackId;
  state: SubscriptionState;
  /** -1 before the first packet forwarded. */
  currentLayer: number;
  targetLayer: number;
  maxLayer: number;
}

/** Share of a downlink estimate given to video layers (the rest: audio, RTCP, estimate error). */
const BANDWIDTH_HEADROOM = 0.85;

export class SfuCore {
  readonly config: Readonly<CoreConfig>;

  private readonly rooms = new Map<string, Room>();
  private readonly participants = new Map<ParticipantId, Participant>();
  /** Every publication of every room, by its (core-unique) track id: the one lookup per RTP packet. */
  private readonly tracks = new Map<TrackId, Publication>();
  private readonly subscriptions = new Map<SubscriptionId, Subscription>();
  /** Throttles with a coalesced request waiting, in the order they started waiting. */
  private readonly waitingThrottles = new Set<KeyframeThrottle>();
  private readonly queue = new OutputQueue();
  private nextSubscriptionId: SubscriptionId = 1;

  constructor(config: Partial<CoreConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_CORE_CONFIG, ...config });
  }

  // -------------------------------------------------------------------------------------------
  // The run loop
  // -------------------------------------------------------------------------------------------

  /** Feed one input. Then poll() until it returns a `timeout` output. Never throws on unknown ids. */
  handle(input: Input): void {
    switch (input.type) {
      case "rtp":
        return this.onRtp(input);
      case "join":
        return this.onJoin(input);
      case "leave":
        return this.onLeave(input);
      case "publish":
        return this.onPublish(input);
      case "unpublish":
        return this.onUnpublish(input);
      case "mute":
        return this.onMute(input);
      case "subscribe":
        return this.onSubscribe(input);
      case "subscription-ready":
        return this.onSubscriptionReady(input);
      case "layer-preference":
        return this.onLayerPreference(input);
      case "subscription-settings":
        return this.onSubscriptionSettings(input);
      case "bandwidth-estimate":
        return this.onBandwidthEstimate(input);
      case "keyframe-request":
        return this.onKeyframeRequest(input);
      case "data":
        return this.onData(input);
      case "timeout":
        return this.onTimeout(input);
    }
  }

  /**
   * The next output. When nothing is queued: `{ type: "timeout", at }`, the earliest time a `timeout`
   * input is wanted (Infinity: none). A `forward` output may be reused after the next poll().
   */
  poll(): Output {
    const out = this.queue.shift();
    if (out !== undefined) return out;
    let at = Infinity;
    for (const t of this.waitingThrottles) if (t.deadline < at) at = t.deadline;
    return { type: "timeout", at };
  }

  // -------------------------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------------------------

  stats(): CoreStats {
    return {
      rooms: this.rooms.size,
      participants: this.participants.size,
      tracks: this.tracks.size,
      subscriptions: this.subscriptions.size,
      pendingKeyframeRequests: this.waitingThrottles.size,
    };
  }

  /** The room a participant is in, or undefined when they are not joined. */
  participantRoom(participantId: ParticipantId): string | undefined {
    return this.participants.get(participantId)?.room.name;
  }

  /** How many tracks a participant publishes (0 when not joined). */
  participantTracks(participantId: ParticipantId): number {
    return this.participants.get(participantId)?.publications.size ?? 0;
  }

  /**
   * Why publishing `count` more tracks would be refused (the `too-many-tracks` message), or undefined.
   * The adapter asks before negotiating SDP, so a refused offer never touches the peer connection.
   */
  publishRefusal(participantId: ParticipantId, count: number): string | undefined {
    const publisher = this.participants.get(participantId);
    if (publisher === undefined) return undefined;
    const max = this.config.maxTracksPerParticipant;
    if (publisher.publications.size + count <= max) return undefined;
    return (
      `you publish ${publisher.publications.size} track(s) and offered ${count} more; ` +
      `at most ${max} per participant: unpublish a track first`
    );
  }

  /** The codec MIME type of a published track (read for every packet: keyframe detection), or undefined. */
  trackCodec(trackId: TrackId): string | undefined {
    return this.tracks.get(trackId)?.codec;
  }

  /** The simulcast rids of a published track, lowest first ([] without simulcast), or undefined. */
  trackLayers(trackId: TrackId): readonly string[] | undefined {
    return this.tracks.get(trackId)?.layers;
  }

  /** The publisher of a track, or undefined. */
  trackOwner(trackId: TrackId): ParticipantId | undefined {
    return this.tracks.get(trackId)?.publisher.id;
  }

  /** The id of a participant's subscription to a track, or undefined. */
  subscriptionOf(participantId: ParticipantId, trackId: TrackId): SubscriptionId | undefined {
    return this.participants.get(participantId)?.subscriptions.get(trackId)?.id;
  }

  subscription(subscriptionId: SubscriptionId): SubscriptionView | undefined {
    const sub = this.subscriptions.get(subscriptionId);
    return sub === undefined ? undefined : viewOf(sub);
  }

  /** What a participant receives, in creation order. */
  subscriptionsOf(participantId: ParticipantId): SubscriptionView[] {
    const p = this.participants.get(participantId);
    return p === undefined ? [] : [...p.subscriptions.values()].map(viewOf);
  }

  // -------------------------------------------------------------------------------------------
  // Membership
  // -------------------------------------------------------------------------------------------

  private onJoin(input: JoinInput): void {
    const { participantId, requestId } = input;
    if (this.participants.has(participantId)) {
      this.sendError(participantId, requestId, "already-joined", "this session has already joined a room; leave it first");
      return;
    }
    const existing = this.rooms.get(input.room);
    if (existing !== undefined && existing.size >= this.config.maxParticipantsPerRoom) {
      this.sendError(
        participantId,
        requestId,
        "room-full",
        `room "${input.room}" is full (${this.config.maxParticipantsPerRoom} participants); try again later or join another room`,
      );
      return;
    }
    let room = existing;
    if (room === undefined) {
      room = new Room(input.room);
      this.rooms.set(room.name, room);
    }
    const others = [...room.participants.values()];
    const joiner = new Participant(participantId, input.name, room, input.autoSubscribe, this.config);
    room.participants.set(participantId, joiner);
    this.participants.set(participantId, joiner);

    this.signal(participantId, {
      type: "joined",
      id: requestId,
      participantId,
      room: room.name,
      participants: others.map((p) => p.info()),
    });
    const announcement: ServerMessage = { type: "participant-joined", participant: joiner.info() };
    for (const other of others) this.signal(other.id, announcement);
    if (joiner.autoSubscribe) {
      for (const other of others) for (const pub of other.publications.values()) this.subscribe(joiner, pub);
    }
  }

  private onLeave(input: LeaveInput): void {
    const leaver = this.participants.get(input.participantId);
    if (leaver === undefined) return;
    const room = leaver.room;
    for (const pub of [...leaver.publications.values()]) this.removePublication(pub);
    // Their own subscriptions go without subscription-removed: the adapter drops the whole connection.
    for (const sub of leaver.subscriptions.values()) {
      sub.publication.removeSubscription(sub);
      this.subscriptions.delete(sub.id);
      this.updateLayersWanted(sub.publication);
    }
    leaver.subscriptions.clear();
    room.participants.delete(leaver.id);
    this.participants.delete(leaver.id);
    const left: ServerMessage = { type: "participant-left", participantId: leaver.id };
    for (const other of room.participants.values()) this.signal(other.id, left);
    if (room.size === 0) this.rooms.delete(room.name);
    this.queue.push({ type: "participant-removed", participantId: leaver.id });
  }

  // -------------------------------------------------------------------------------------------
  // Publications
  // -------------------------------------------------------------------------------------------

  private onPublish(input: PublishInput): void {
    const publisher = this.participants.get(input.participantId);
    if (publisher === undefined) return;
    const { requestId } = input;
    const refusal = this.publishRefusal(publisher.id, input.tracks.length);
    if (refusal !== undefined) {
      this.sendError(publisher.id, requestId, "too-many-tracks", refusal);
      return;
    }
    const seen = new Set<TrackId>();
    for (const spec of input.tracks) {
      if (this.tracks.has(spec.trackId) || seen.has(spec.trackId)) {
        this.sendError(publisher.id, requestId, "internal", `track id "${spec.trackId}" is already in use; nothing was published`);
        return;
      }
      seen.add(spec.trackId);
    }
    for (const spec of input.tracks) {
      const pub = new Publication(publisher, spec, this.config.keyframeRequestIntervalMs);
      publisher.publications.set(pub.id, pub);
      this.tracks.set(pub.id, pub);
      const announcement: ServerMessage = { type: "track-published", track: pub.info() };
      for (const other of publisher.room.others(publisher)) this.signal(other.id, announcement);
      for (const other of publisher.room.others(publisher)) if (other.autoSubscribe) this.subscribe(other, pub);
      this.updateLayersWanted(pub);
    }
  }

  private onUnpublish(input: UnpublishInput): void {
    const requester = this.participants.get(input.participantId);
    if (requester === undefined) return;
    const pub = this.ownTrack(requester, input.trackId, input.requestId);
    if (pub === undefined) return;
    this.removePublication(pub);
    if (input.requestId !== undefined) this.signal(requester.id, { type: "ok", id: input.requestId });
  }

  private onMute(input: MuteInput): void {
    const requester = this.participants.get(input.participantId);
    if (requester === undefined) return;
    const pub = this.ownTrack(requester, input.trackId, input.requestId);
    if (pub === undefined) return;
    if (pub.muted !== input.muted) {
      pub.muted = input.muted;
      const msg: ServerMessage = { type: "track-muted", trackId: pub.id, participantId: requester.id, muted: pub.muted };
      for (const other of requester.room.others(requester)) this.signal(other.id, msg);
    }
    this.signal(requester.id, { type: "ok", id: input.requestId });
  }

  /**
   * The requester's own track in their room, or undefined after sending the error (only when the
   * request came from the client, i.e. has a request id: the adapter's own requests fail silently).
   */
  private ownTrack(requester: Participant, trackId: TrackId, requestId: string | undefined): Publication | undefined {
    const pub = this.tracks.get(trackId);
    if (pub === undefined || pub.publisher.room !== requester.room) {
      if (requestId !== undefined) {
        this.sendError(requester.id, requestId, "unknown-track", `there is no track "${trackId}" in this room`);
      }
      return undefined;
    }
    if (pub.publisher !== requester) {
      if (requestId !== undefined) {
        this.sendError(
          requester.id,
          requestId,
          "not-your-track",
          `track "${trackId}" is published by someone else; you can only change your own tracks`,
        );
      }
      return undefined;
    }
    return pub;
  }

  /** Unpublish: subscription-removed to each subscriber, track-unpublished to the others, throttles dropped. */
  private removePublication(pub: Publication): void {
    const publisher = pub.publisher;
    for (const sub of pub.subscriptions) {
      sub.subscriber.subscriptions.delete(pub.id);
      this.subscriptions.delete(sub.id);
      this.queue.push({ type: "subscription-removed", subscriptionId: sub.id, subscriberId: sub.subscriber.id });
    }
    pub.subscriptions.length = 0;
    for (const throttle of pub.throttles) {
      throttle.cancel();
      this.waitingThrottles.delete(throttle);
    }
    publisher.publications.delete(pub.id);
    this.tracks.delete(pub.id);
    const msg: ServerMessage = { type: "track-unpublished", trackId: pub.id, participantId: publisher.id };
    for (const other of publisher.room.others(publisher)) this.signal(other.id, msg);
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------------------------

  private onSubscribe(input: SubscribeInput): void {
    const subscriber = this.participants.get(input.participantId);
    if (subscriber === undefined) return;
    const pub = this.tracks.get(input.trackId);
    if (pub === undefined || pub.publisher.room !== subscriber.room) {
      this.sendError(subscriber.id, input.requestId, "unknown-track", `there is no track "${input.trackId}" in this room`);
      return;
    }
    if (pub.publisher === subscriber) {
      this.sendError(
        subscriber.id,
        input.requestId,
        "bad-message",
        `track "${input.trackId}" is your own: you cannot subscribe to (or unsubscribe from) your own track`,
      );
      return;
    }
    const existing = subscriber.subscriptions.get(pub.id);
    if (input.subscribe) {
      if (existing === undefined) this.subscribe(subscriber, pub);
    } else if (existing !== undefined) {
      this.unsubscribe(existing);
    }
    this.signal(subscriber.id, { type: "ok", id: input.requestId });
  }

  private subscribe(subscriber: Participant, pub: Publication): void {
    if (subscriber.subscriptions.has(pub.id)) return;
    const sub = new Subscription(this.nextSubscriptionId++, subscriber, pub);
    subscriber.subscriptions.set(pub.id, sub);
    pub.addSubscription(sub);
    this.subscriptions.set(sub.id, sub);
    this.queue.push({
      type: "subscription-added",
      subscriptionId: sub.id,
      subscriberId: subscriber.id,
      publisherId: pub.publisher.id,
      trackId: pub.id,
      kind: pub.kind,
      codec: pub.codec,
    });
    this.updateLayersWanted(pub);
  }

  private unsubscribe(sub: Subscription): void {
    sub.subscriber.subscriptions.delete(sub.publication.id);
    sub.publication.removeSubscription(sub);
    this.subscriptions.delete(sub.id);
    this.queue.push({ type: "subscription-removed", subscriptionId: sub.id, subscriberId: sub.subscriber.id });
    this.updateLayersWanted(sub.publication);
  }

  private onSubscriptionReady(input: SubscriptionReadyInput): void {
    const sub = this.subscriptions.get(input.subscriptionId);
    if (sub === undefined) return;
    if (sub.markReady()) this.requestKeyframe(sub.publication.throttles[sub.targetLayer], input.now);
  }

  private onLayerPreference(input: LayerPreferenceInput): void {
    const sub = this.subscriptions.get(input.subscriptionId);
    if (sub === undefined) return;
    if (sub.setMaxLayer(input.maxLayer)) this.requestKeyframe(sub.publication.throttles[sub.targetLayer], input.now);
    this.updateLayersWanted(sub.publication);
  }

  private onSubscriptionSettings(input: SubscriptionSettingsInput): void {
    const sub = this.subscriptions.get(input.subscriptionId);
    if (sub === undefined) return;
    if (sub.setWish(input.settings)) this.requestKeyframe(sub.publication.throttles[sub.targetLayer], input.now);
    this.updateLayersWanted(sub.publication);
  }

  /**
   * A subscriber's downlink estimate. Browsers' REMB rarely exceeds ~1.5x what they receive now, so it
   * is read as a congestion signal, not as room to grow: when the estimate drops below what the
   * subscriber is being sent, the BandwidthAllocator re-shares it and caps drop at once; otherwise capped
   * subscriptions are raised one layer at a time, bandwidthUpgradeHoldMs after the last drop.
   */
  private onBandwidthEstimate(input: BandwidthEstimateInput): void {
    const subscriber = this.participants.get(input.participantId);
    if (subscriber === undefined) return;
    const previous = subscriber.downlinkBps;
    subscriber.downlinkBps = input.bitsPerSecond;
    const subs = [...subscriber.subscriptions.values()].filter((s) => s.publication.keyframeGated && s.publication.layerCount > 1);
    const budget = input.bitsPerSecond * BANDWIDTH_HEADROOM;
    let sending = 0;
    for (const s of subs) if (s.currentLayer >= 0) sending += s.publication.rate.bitrates[s.currentLayer] ?? 0;
    // Congestion = the estimate fell (the browser saw overuse) below what it is being sent. A low but
    // rising or steady estimate only lags behind an upgrade (REMB climbs a few % per second) and is not
    // a reason to take the upgrade back.
    const congested = previous !== undefined && input.bitsPerSecond < previous * 0.9 && sending > budget;
    const caps = congested
      ? allocateLayers(budget, subs.map((s) => ({ wanted: s.wantedLayer, layerCosts: s.publication.rate.bitrates })))
      : undefined;
    subs.forEach((sub, i) => {
      let next = sub.maxLayer;
      if (caps !== undefined) {
        const cap = caps[i]!;
        if (cap >= 0 && cap < sub.maxLayer) {
          next = cap;
          sub.capLoweredAt = input.now;
        }
      } else if (sub.maxLayer < sub.publication.highestLayer && input.now - sub.capLoweredAt >= this.config.bandwidthUpgradeHoldMs) {
        next = sub.maxLayer + 1;
      }
      if (next === sub.maxLayer) return;
      if (sub.setMaxLayer(next)) this.requestKeyframe(sub.publication.throttles[sub.targetLayer], input.now);
      this.updateLayersWanted(sub.publication);
    });
  }

  /** Dynacast: tell the publisher when the set of layers anyone needs changes (simulcast tracks only). */
  private updateLayersWanted(pub: Publication): void {
    if (pub.layerCount < 2 || !this.tracks.has(pub.id)) return;
    const wanted = pub.layersInUse();
    if (wanted.every((w, i) => w === pub.layersWanted[i])) return;
    pub.layersWanted = wanted;
    this.queue.push({ type: "layers-wanted", publisherId: pub.publisher.id, trackId: pub.id, layers: [...wanted] });
  }

  private onKeyframeRequest(input: KeyframeRequestInput): void {
    const sub = this.subscriptions.get(input.subscriptionId);
    if (sub === undefined || !sub.ready || !sub.publication.keyframeGated) return;
    this.requestKeyframe(sub.publication.throttles[sub.keyframeLayer], input.now);
  }

  // -------------------------------------------------------------------------------------------
  // Keyframes and time
  // -------------------------------------------------------------------------------------------

  private requestKeyframe(throttle: KeyframeThrottle | undefined, now: Millis): void {
    if (throttle === undefined) return;
    if (throttle.request(now)) {
      this.waitingThrottles.delete(throttle);
      this.queue.push({ type: "request-keyframe", publisherId: throttle.publisherId, trackId: throttle.trackId, layer: throttle.layer });
    } else {
      this.waitingThrottles.add(throttle);
    }
  }

  private onTimeout(input: TimeoutInput): void {
    for (const throttle of this.waitingThrottles) {
      if (throttle.fire(input.now)) {
        this.waitingThrottles.delete(throttle);
        this.queue.push({ type: "request-keyframe", publisherId: throttle.publisherId, trackId: throttle.trackId, layer: throttle.layer });
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Forwarding: the hot path
  // -------------------------------------------------------------------------------------------

  private onRtp(input: RtpInput): void {
    const pub = this.tracks.get(input.trackId);
    if (pub === undefined || pub.publisher.id !== input.publisherId) return;
    const subs = pub.subscriptions;
    const { layer, keyframe, seq, timestamp, now, marker } = input;
    pub.rate.add(layer, input.size, now);
    let switched = false;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      const before = sub.currentLayer;
      if (sub.accept(layer, keyframe, seq, timestamp, now)) {
        if (sub.currentLayer !== before) switched = true;
        this.queue.pushForward(sub.id, sub.subscriber.id, sub.rewriter.seq, sub.rewriter.timestamp, marker);
      } else if (!keyframe && layer === sub.targetLayer && sub.needsKeyframe) {
        // Still waiting for a keyframe while the layer flows: the request (or its keyframe) was lost,
        // or it went out before the publisher sent anything. Ask again; the throttle paces it.
        this.requestKeyframe(pub.throttles[layer], now);
      }
    }
    if (switched) this.updateLayersWanted(pub); // the layer switched away from may be unneeded now
  }

  // -------------------------------------------------------------------------------------------
  // Signaling helpers
  // -------------------------------------------------------------------------------------------

  // -------------------------------------------------------------------------------------------
  // Data
  // -------------------------------------------------------------------------------------------

  private onData(input: DataInput): void {
    const sender = this.participants.get(input.participantId);
    if (sender === undefined) return;
    const route = routeData(sender, input, this.config);
    if ("code" in route) {
      this.sendError(sender.id, input.messageId, route.code, route.message);
      return;
    }
    if (route.recipients.length > 0) {
      this.queue.push({ type: "deliver-data", from: sender.id, recipients: route.recipients, reliable: input.reliable });
    }
  }

  private signal(participantId: ParticipantId, message: ServerMessage): void {
    this.queue.push({ type: "signal", participantId, message });
  }

  private sendError(participantId: ParticipantId, requestId: string | undefined, code: ErrorCode, message: string): void {
    this.signal(
      participantId,
      requestId === undefined ? { type: "error", code, message } : { type: "error", id: requestId, code, message },
    );
  }
}

function viewOf(sub: Subscription): SubscriptionView {
  return {
    subscriptionId: sub.id,
    subscriberId: sub.subscriber.id,
    publisherId: sub.publication.publisher.id,
    trackId: sub.publication.id,
    state: sub.state,
    currentLayer: sub.currentLayer,
    targetLayer: sub.targetLayer,
    maxLayer: sub.maxLayer,
  };
}

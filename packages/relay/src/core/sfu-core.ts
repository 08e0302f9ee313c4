/**
 * SfuCore: the state machine the adapter drives (index.ts explains the run loop). It is composed of
 * sub-machines, each the only owner of its state, and routes each input to them:
 *
 *   Membership          rooms and members; join/leave rules
 *   ResumeWindow        participants whose session dropped (away), until when; the resume rule
 *   Publishing          published tracks and pending offers; publish/unpublish/mute rules
 *   Subscribing         subscribe rules, subscriber wishes, keyframe requests, bandwidth caps, using:
 *     SubscriptionTable   every (subscriber, track) link; the one place links are added and removed
 *     BandwidthController the congestion rule: per-subscription bandwidth caps from REMB
 *     CapacityCaps        the same caps from the relay's own send-side estimate (congestion/*), when
 *                         the subscriber sends transport-cc feedback
 *     BandwidthPause      videos paused because even their lowest layer does not fit that estimate
 *     Dynacast            which simulcast layers each publisher must send
 *     KeyframeScheduler   throttled, coalesced keyframe requests and the wake-ups they need
 *     LinkLimits          what each subscriber was told about its link limiting a video
 *   PublisherRemb       the REMB each publisher is sent: its uplink (REMB-only publishers), its viewers
 *   ActiveSpeakers      who speaks in each room, from the packets' audio levels
 *   ConnectionQuality   good/poor/lost per participant, from loss, round trips and jitter
 *   LossRecovery        NACKs to publishers per layer; subscribers' NACKs answered from the history
 *   Pacing              one pacer per subscriber connection: forwards and resends spread at a rate
 *                       from the subscriber's estimate, audio first (pacer.ts)
 *   Probing             probes of a subscriber's downlink while a wish is capped: RTX copies of its
 *                       recent packets, judged from the feedback (probing.ts, congestion/probe-controller.ts)
 *   routeData           who receives a data frame
 *   Administration      the server API's rules (admin.ts)
 *   withdrawnByGrants   what a refreshed token with fewer grants stops (withdrawn-grants.ts)
 *
 * SfuCore itself routes inputs, does what spans several of them (a join, a leave, a track appearing or
 * going), and runs the hot path: one RTP packet in, its forwards out.
 */
import type { ParticipantInfo } from "@sfu-room/protocol";
import { ActiveSpeakers } from "./active-speakers.ts";
import { Administration } from "./admin.ts";
import { BandwidthController } from "./bandwidth-controller.ts";
import { BandwidthPause } from "./congestion/bandwidth-pause.ts";
import { CapacityCaps } from "./congestion/capacity-caps.ts";
import { PublisherRemb } from "./congestion/publisher-remb.ts";
import { ConnectionQuality } from "./connection-quality.ts";
import { routeData } from "./data-routing.ts";
import { Dynacast } from "./dynacast.ts";
import type * as In from "./inputs.ts";
import { KeyframeScheduler } from "./keyframe-scheduler.ts";
import { LinkLimits } from "./link-limits.ts";
import { LossRecovery } from "./loss-recovery.ts";
import { Membership } from "./membership.ts";
import type { Output } from "./outputs.ts";
import { OutputQueue } from "./output-queue.ts";
import { Pacing } from "./pacer.ts";
import { Probing } from "./probing.ts";
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";
import { Publishing } from "./publishing.ts";
import { ResumeWindow } from "./resume-window.ts";
import { roomEvent } from "./room-events.ts";
import { Subscribing } from "./subscribing.ts";
import type { Subscription, SubscriptionState } from "./subscription.ts";
import { SubscriptionTable } from "./subscription-table.ts";
import { withdrawnByGrants } from "./withdrawn-grants.ts";
import { type CoreConfig, type CoreStats, DEFAULT_CORE_CONFIG, type KindCounts, type Millis, type ParticipantId, type SubscriptionId, type TrackId } from "./types.ts";

/** A read-only view of one subscription, for diagnostics and tests (the adapter never decides on it). */
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

export class SfuCore {
  readonly config: Readonly<CoreConfig>;

  private readonly out = new OutputQueue();
  private readonly members: Membership;
  private readonly away: ResumeWindow;
  private readonly publishing: Publishing;
  private readonly table: SubscriptionTable;
  private readonly dynacast: Dynacast;
  private readonly keyframes: KeyframeScheduler;
  private readonly subscribing: Subscribing;
  private readonly speakers: ActiveSpeakers;
  private readonly quality: ConnectionQuality;
  private readonly loss: LossRecovery;
  private readonly pacing: Pacing;
  private readonly probing: Probing;
  private readonly capacity: CapacityCaps;
  private readonly limits: LinkLimits;
  private readonly remb: PublisherRemb;
  private readonly pause = new BandwidthPause();
  private readonly admin: Administration;
  /** Data frames delivered and refused, for stats(). */
  private dataRelayed = 0;
  private dataRefused = 0;

  constructor(config: Partial<CoreConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_CORE_CONFIG, ...config });
    this.members = new Membership(this.config, this.out);
    this.away = new ResumeWindow(this.config.resumeWindowMs, this.out);
    this.publishing = new Publishing(this.config, this.out);
    this.table = new SubscriptionTable(this.out);
    this.dynacast = new Dynacast(this.table, this.out);
    this.keyframes = new KeyframeScheduler(this.out);
    this.speakers = new ActiveSpeakers(this.out);
    this.quality = new ConnectionQuality(this.config.connectionQualityIntervalMs, this.out, (p) => this.table.ofSubscriber(p.id));
    this.pacing = new Pacing(this.out);
    this.loss = new LossRecovery(this.table, this.keyframes, this.out, this.pacing);
    const bandwidth = new BandwidthController(this.config.bandwidthUpgradeHoldMs);
    this.capacity = new CapacityCaps(this.config.bandwidthUpgradeHoldMs);
    this.probing = new Probing(this.table, this.capacity, this.pacing, this.out);
    this.limits = new LinkLimits(this.out);
    this.remb = new PublisherRemb({
      estimateOf: (id) => this.capacity.estimate(id) ?? bandwidth.estimate(id),
      received: (id) => this.table.ofSubscriber(id),
      viewersOf: (pub) => this.table.ofTrack(pub.id),
      tracksOf: (id) => this.publishing.of(id),
    }, this.out);
    this.subscribing = new Subscribing({
      table: this.table, publishing: this.publishing, bandwidth, capacity: this.capacity, pause: this.pause, dynacast: this.dynacast,
      keyframes: this.keyframes, limits: this.limits, out: this.out,
    });
    this.admin = new Administration({
      members: this.members, publishing: this.publishing, out: this.out,
      remove: (p, reason, now) => this.remove(p, reason, now), infoOf: (p) => this.infoOf(p),
    });
  }

  // -------------------------------------------------------------------------------------------
  // The run loop
  // -------------------------------------------------------------------------------------------

  /** Feed one input. Then poll() until it returns a `timeout` output. Never throws on unknown ids. */
  handle(input: In.Input): void {
    switch (input.type) {
      case "rtp":
        return this.onRtp(input);
      case "join":
        return this.onJoin(input);
      case "leave":
        return this.onLeave(input);
      case "session-closed":
        return this.onSessionClosed(input);
      case "media-lost":
        return this.onMediaLost(input);
      case "resume":
        return this.onResume(input);
      case "ice-restarted":
        return this.onIceRestarted(input);
      case "timeout":
        return this.onTimeout(input.now);
      case "subscription-ready":
        return this.subscribing.onReady(input);
      case "layer-preference":
        return this.subscribing.onLayerPreference(input);
      case "bandwidth-estimate":
        if (this.members.get(input.participantId) === undefined) return;
        this.subscribing.onBandwidthEstimate(input);
        // The retransmission budget and the pacing rate follow the same estimate as the layers: REMB
        // until transport-cc flows.
        if (!this.capacity.has(input.participantId)) this.onDownlinkEstimate(input.participantId, input.bitsPerSecond, input.now);
        this.remb.onViewerEstimate(input.participantId, input.now);
        return;
      case "nack":
        return this.loss.onNack(input.subscriptionId, input.seqs, input.now);
      case "round-trip-time": {
        const participant = this.members.get(input.participantId);
        if (participant === undefined) return;
        this.loss.onRoundTrip(participant.id, input.rttMs);
        this.quality.onRoundTrip(participant, input.rttMs, input.now);
        return;
      }
      case "transport-feedback": {
        const participant = this.members.get(input.participantId);
        if (participant === undefined) return;
        this.probing.beforeFeedback(participant.id, input.packets, input.now);
        this.subscribing.onTransportFeedback(input);
        this.probing.afterFeedback(participant.id, input.now);
        this.quality.onFeedback(participant, input.packets, input.now);
        const estimate = this.capacity.estimate(input.participantId);
        if (estimate !== undefined) this.onDownlinkEstimate(input.participantId, estimate, input.now);
        this.remb.onViewerEstimate(input.participantId, input.now);
        return;
      }
      case "publisher-arrivals":
        if (this.members.get(input.participantId) !== undefined) this.remb.onArrivals(input.participantId, input.packets, input.now);
        return;
      case "picture-loss":
        return this.subscribing.onPictureLoss(input);
      case "negotiation-failed":
        return this.onNegotiationFailed(input);
      case "data":
        return this.onData(input);
      case "data-backed-up":
        return this.onDataBackedUp(input);
      case "publish-negotiated":
        return this.onPublishNegotiated(input);
      case "mirror-publish":
        return this.onMirrorPublish(input);
      case "mirror-update":
        return this.onMirrorUpdate(input);
      case "admin":
        return this.admin.handle(input);
    }
    // Requests that need a joined participant.
    const requester = this.members.get(input.participantId);
    if (requester === undefined) {
      this.out.error(input.participantId, input.requestId, "not-joined", `"${REQUEST_NAMES[input.type]}" needs a joined session; send "join" first`);
      return;
    }
    switch (input.type) {
      case "publish-offer":
        this.publishing.offer(requester, input);
        return;
      case "unpublish":
        return this.onUnpublish(requester, input);
      case "mute":
        return this.onMute(requester, input);
      case "subscribe":
        return this.subscribing.onSubscribe(requester, input);
      case "subscription-settings":
        return this.subscribing.onSettings(requester, input);
      case "keyframe-request":
        return this.subscribing.onKeyframeRequest(requester, input);
      case "restart-ice":
        return this.onRestartIce(requester, input);
      case "refresh-token":
        if (this.members.regrant(requester, input)) this.withdraw(requester);
        return;
    }
  }

  /**
   * The next output. When nothing is queued: `{ type: "timeout", at }`, the earliest time a `timeout`
   * input is wanted (Infinity: none). A `forward` output may be reused after the next poll(). Signals
   * to an away participant are dropped here: they have no session to carry them.
   */
  poll(): Output {
    for (;;) {
      const out = this.out.shift();
      if (out === undefined) return { type: "timeout", at: Math.min(this.keyframes.deadline, this.away.deadline, this.speakers.deadline, this.loss.deadline, this.pause.deadline, this.quality.deadline, this.pacing.deadline, this.probing.deadline) };
      if (out.type !== "signal" || !this.away.isAway(out.participantId)) return out;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queries: counts and diagnostics only; the adapter never needs them to act.
  // -------------------------------------------------------------------------------------------

  stats(): CoreStats {
    return {
      rooms: this.members.roomCount,
      participants: this.members.participantCount,
      tracks: this.publishing.size,
      subscriptions: this.table.size,
      pendingKeyframeRequests: this.keyframes.pending,
      resumes: this.away.accepted,
      resumeRefusals: this.away.refused,
      rejoins: this.members.rejoins,
      layerSwitches: this.table.layerSwitches.count,
      dataRelayed: this.dataRelayed,
      dataRefused: this.dataRefused,
      ...this.loss.counts,
      pacerDropped: this.pacing.dropped,
      ...this.probing.counts,
    };
  }

  /** Tracks and subscriptions by kind: walks them all, so for a scrape, not for every packet. */
  kindCounts(): KindCounts {
    return {
      tracks: countByKind(this.publishing.all(), (pub) => pub.kind),
      subscriptions: countByKind(this.table.all(), (sub) => sub.publication.kind),
    };
  }

  /** The room a participant is in, or undefined when they are not joined. */
  participantRoom(participantId: ParticipantId): string | undefined {
    return this.members.get(participantId)?.room.name;
  }

  /** The node a mirrored participant is on (rooms spanning nodes), or undefined (here, or unknown). */
  participantOrigin(participantId: ParticipantId): string | undefined {
    const presence = this.members.get(participantId)?.presence;
    return presence?.kind === "mirror" ? presence.origin : undefined;
  }

  /** The publisher of a track, or undefined. */
  trackOwner(trackId: TrackId): ParticipantId | undefined {
    return this.publishing.get(trackId)?.publisher.id;
  }

  /** The id of a participant's subscription to a track, or undefined. */
  subscriptionOf(participantId: ParticipantId, trackId: TrackId): SubscriptionId | undefined {
    return this.table.find(participantId, trackId)?.id;
  }

  subscription(subscriptionId: SubscriptionId): SubscriptionView | undefined {
    const sub = this.table.get(subscriptionId);
    return sub === undefined ? undefined : viewOf(sub);
  }

  /** What a participant receives, in creation order. */
  subscriptionsOf(participantId: ParticipantId): SubscriptionView[] {
    return this.table.ofSubscriber(participantId).map(viewOf);
  }

  // -------------------------------------------------------------------------------------------
  // Membership
  // -------------------------------------------------------------------------------------------

  private onJoin(input: In.JoinInput): void {
    const replaced = this.removeReplaced(input);
    const joiner = this.members.join(input, replaced);
    if (joiner === undefined) return;
    const others = [...joiner.room.others(joiner)];
    this.out.signal(joiner.id, {
      type: "joined",
      id: input.requestId,
      participantId: joiner.id,
      room: joiner.room.name,
      participants: [...joiner.room.visibleOthers(joiner)].filter((p) => p.shownTo(joiner)).map((p) => this.infoOf(p)),
      iceServers: input.iceServers ?? [],
      resume: { secret: joiner.resumeSecret, windowMs: this.config.resumeWindowMs },
    });
    this.out.push(joiner.mirrored ? { type: "participant-added", participantId: joiner.id, mirrored: true } : { type: "participant-added", participantId: joiner.id });
    if (this.members.starts(joiner)) this.out.push(roomEvent("room_started", joiner.room.name)); // their join made it
    if (joiner.reported) this.out.push(roomEvent("participant_joined", joiner.room.name, joiner));
    this.speakers.catchUp(joiner);
    this.quality.join(joiner, input.now);
    if (!joiner.grants.hidden) {
      const announcement = { type: "participant-joined", participant: this.infoOf(joiner) } as const;
      for (const other of others) if (joiner.shownTo(other)) this.out.signal(other.id, announcement);
    }
    if (joiner.autoSubscribe) {
      for (const other of others) if (other.shownTo(joiner)) for (const pub of this.publishing.of(other.id)) this.subscribing.subscribe(joiner, pub);
    }
  }

  /** Sessions an admissible join takes the place of go first (also in a full room: they free the place); true if one did. */
  private removeReplaced(input: In.JoinInput): boolean {
    const { rejoinOf } = input;
    const previous = rejoinOf === undefined ? undefined : this.members.get(rejoinOf.participantId);
    let replaced = false;
    if (rejoinOf !== undefined && this.members.admits(input) && this.away.proves(previous, input.room, rejoinOf.secret)) {
      // The same client's lost session, still held (its media never came back).
      this.remove(previous, "replaced by a new session of yours (a rejoin)", undefined, true);
      replaced = true;
    }
    // One session per identity and room: the newer one wins (LiveKit's rule), and the older is kicked
    // so that it stops, rather than reconnecting and replacing the new one in turn.
    const holder = this.members.holderOfIdentity(input);
    if (holder !== undefined) {
      this.remove(holder, "another session with your identity joined this room", input.now, true);
      replaced = true;
    }
    return replaced;
  }

  private onLeave(input: In.LeaveInput): void {
    const leaver = this.members.get(input.participantId);
    if (input.requestId !== undefined) this.out.ok(input.participantId, input.requestId);
    if (leaver !== undefined) this.remove(leaver, undefined);
  }

  /**
   * Everything of theirs goes; the others are told. `reason`: the relay removed them; `kickedAt`: for
   * good, at that time (see the output; a resume of theirs is told so); `replaced`: a join takes their
   * place at once, so their room stays even if empty (it does not finish and start again).
   */
  private remove(leaver: Participant, reason: string | undefined, kickedAt?: Millis, replaced = false): void {
    const kick = kickedAt !== undefined;
    if (kick) this.away.bar(leaver, reason ?? "removed by the relay", kickedAt);
    for (const pub of this.publishing.of(leaver.id)) this.removePublication(pub);
    this.subscribing.forget(leaver);
    this.loss.forgetParticipant(leaver.id);
    this.remb.forget(leaver.id);
    this.quality.forget(leaver);
    this.pacing.forget(leaver.id);
    this.probing.forget(leaver.id);
    this.publishing.forget(leaver.id);
    this.away.forget(leaver.id);
    if (leaver.reported) this.out.push(roomEvent("participant_left", leaver.room.name, leaver));
    this.members.remove(leaver, replaced);
    this.out.push({ type: "participant-removed", participantId: leaver.id, ...(reason === undefined ? {} : { reason }), ...(kick ? { kick: true } : {}) });
  }

  /** Without `leave`: kept away for the resume window (the others see nothing), or removed now. */
  private onSessionClosed(input: In.SessionClosedInput): void {
    const participant = this.members.get(input.participantId);
    if (participant === undefined || this.away.isAway(participant.id)) return;
    // A pipe never resumes: its node opens a new one (spanning-rooms.ts).
    if (participant.pipe || !this.away.keep(participant, input.now)) this.remove(participant, undefined);
  }

  /** An away participant's media may be down for the same reason as their signaling: the window decides. */
  private onMediaLost(input: In.MediaLostInput): void {
    const participant = this.members.get(input.participantId);
    if (participant === undefined || this.away.isAway(participant.id)) return;
    this.remove(participant, input.reason);
  }

  /** A subscriber's downlink estimate (transport-cc's once it flows, REMB before): what it bounds follows it. */
  private onDownlinkEstimate(participantId: ParticipantId, bitsPerSecond: number, now: number): void {
    this.loss.onEstimate(participantId, bitsPerSecond, now);
    this.pacing.onEstimate(participantId, bitsPerSecond, now);
  }

  private onTimeout(now: number): void {
    this.keyframes.onTimeout(now);
    this.speakers.onTimeout(now);
    this.quality.onTimeout(now);
    this.loss.onTimeout(now);
    this.subscribing.onTimeout(now);
    this.pacing.onTimeout(now);
    this.probing.onTimeout(now);
    for (const id of this.away.expired(now)) {
      const participant = this.members.get(id);
      if (participant !== undefined) this.remove(participant, undefined);
    }
  }

  /**
   * The new session becomes the participant: `session-resumed` (re-binding it, before anything goes to
   * them), then the snapshot of the room in `resumed`, what dynacast last said about their tracks (it
   * may have been lost), and `participant-resumed` for what their connections must send again.
   */
  private onResume(input: In.ResumeInput): void {
    if (this.members.get(input.participantId) !== undefined) {
      this.out.error(input.participantId, input.requestId, "already-joined", "this session is a participant already; resume is the first message on a new WebSocket");
      return;
    }
    const target = this.members.get(input.resumeOf);
    if (!this.away.admit(input, target)) return;
    if (input.nextSecret !== undefined) target.resumeSecret = input.nextSecret;
    this.out.push({ type: "session-resumed", sessionId: input.participantId, participantId: target.id });
    const mine = this.publishing.of(target.id);
    this.out.signal(target.id, {
      type: "resumed",
      id: input.requestId,
      participantId: target.id,
      room: target.room.name,
      participants: [...target.room.visibleOthers(target)].map((p) => this.infoOf(p)),
      tracks: mine.map((pub) => pub.info()),
      iceServers: input.iceServers ?? [],
      resume: { secret: target.resumeSecret, windowMs: this.config.resumeWindowMs },
    });
    for (const pub of mine) this.dynacast.repeat(pub);
    this.limits.repeat(this.table.ofSubscriber(target.id));
    this.speakers.catchUp(target);
    this.quality.join(target, input.now);
    this.out.push({ type: "participant-resumed", participantId: target.id });
  }

  private infoOf(p: Participant): ParticipantInfo {
    const tracks = this.publishing.of(p.id).map((pub) => pub.info());
    return p.metadata === undefined ? { id: p.id, name: p.name, tracks } : { id: p.id, name: p.name, metadata: p.metadata, tracks };
  }

  /**
   * After a refresh: what the new grants no longer allow stops now. The publisher hears of each track
   * the relay unpublished (a `track-unpublished` naming their own track), the others as for any unpublish.
   */
  private withdraw(participant: Participant): void {
    const { unpublish, unsubscribe } = withdrawnByGrants(participant.grants, this.publishing.of(participant.id), this.table.ofSubscriber(participant.id));
    for (const pub of unpublish) {
      this.removePublication(pub);
      this.out.signal(participant.id, { type: "track-unpublished", trackId: pub.id, participantId: participant.id });
    }
    for (const sub of unsubscribe) {
      this.table.remove(sub, true);
      this.dynacast.update(sub.publication);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Publications
  // -------------------------------------------------------------------------------------------

  private onPublishNegotiated(input: In.PublishNegotiatedInput): void {
    const publisher = this.members.get(input.participantId);
    if (publisher === undefined) return;
    this.published(publisher, this.publishing.complete(publisher, input) ?? []);
  }

  /** Another node's participant's tracks, through its node's pipe: they exist at once (no SDP here). */
  private onMirrorPublish(input: In.MirrorPublishInput): void {
    const publisher = this.members.get(input.participantId);
    if (publisher === undefined || !publisher.mirrored) return;
    this.published(publisher, this.publishing.mirror(publisher, input.tracks));
  }

  private onMirrorUpdate(input: In.MirrorUpdateInput): void {
    const mirror = this.members.get(input.participantId);
    if (mirror === undefined || !mirror.mirrored || (mirror.name === input.name && mirror.metadata === input.metadata)) return;
    mirror.name = input.name;
    mirror.metadata = input.metadata;
    const update = { type: "participant-updated", participant: this.infoOf(mirror) } as const;
    for (const other of mirror.room.others(mirror)) if (mirror.shownTo(other)) this.out.signal(other.id, update);
  }

  /** New tracks: the others learn of them, and who subscribes to everything subscribes to them. */
  private published(publisher: Participant, created: readonly Publication[]): void {
    for (const pub of created) {
      this.publishing.announce(pub, { type: "track-published", track: pub.info() });
      if (publisher.reported) this.out.push(roomEvent("track_published", publisher.room.name, publisher, pub));
      for (const other of publisher.room.others(publisher)) if (other.autoSubscribe && publisher.shownTo(other)) this.subscribing.subscribe(other, pub);
      this.dynacast.update(pub);
    }
  }

  private onNegotiationFailed(input: In.NegotiationFailedInput): void {
    const participant = this.members.get(input.participantId);
    if (participant === undefined) {
      // Never joined (or left meanwhile, and then the reply reaches nobody).
      this.out.error(input.participantId, input.requestId, "not-joined", 'only a joined session negotiates; send "join" first');
      return;
    }
    this.publishing.fail(participant, input);
    if (input.requestId !== undefined && participant.iceRestart === input.requestId) participant.iceRestart = undefined;
    this.out.error(participant.id, input.requestId, input.code, input.message);
  }

  // -------------------------------------------------------------------------------------------
  // ICE restart: two phases like a publish, and never at the same time as one (one publisher offer)
  // -------------------------------------------------------------------------------------------

  private onRestartIce(requester: Participant, input: In.RestartIceInput): void {
    if (requester.iceRestart !== undefined) {
      this.out.error(requester.id, input.requestId, "publish-pending", "an ICE restart of yours is still under way; wait for its ice-restarted, then restart again if needed");
      return;
    }
    if (this.publishing.negotiating(requester.id)) {
      this.out.error(requester.id, input.requestId, "publish-pending", "a publish offer of yours is still being negotiated; wait for its publish-answer, then restart ICE");
      return;
    }
    requester.iceRestart = input.requestId;
    this.out.push({ type: "restart-ice", participantId: requester.id, requestId: input.requestId, sdp: input.sdp });
  }

  private onIceRestarted(input: In.IceRestartedInput): void {
    const participant = this.members.get(input.participantId);
    if (participant === undefined || participant.iceRestart !== input.requestId) return;
    participant.iceRestart = undefined;
    this.out.signal(participant.id, input.sdp === undefined ? { type: "ice-restarted", id: input.requestId } : { type: "ice-restarted", id: input.requestId, sdp: input.sdp });
  }

  private onUnpublish(requester: Participant, input: In.UnpublishInput): void {
    const pub = this.publishing.own(requester, input.trackId, input.requestId);
    if (pub === undefined) return;
    this.removePublication(pub);
    this.out.ok(requester.id, input.requestId);
  }

  private onMute(requester: Participant, input: In.MuteInput): void {
    const pub = this.publishing.own(requester, input.trackId, input.requestId);
    if (pub === undefined) return;
    this.publishing.mute(pub, input.muted);
    this.out.ok(requester.id, input.requestId);
  }

  /** Unpublish: subscription-removed to each subscriber, track-unpublished to the others, requests dropped. */
  private removePublication(pub: Publication): void {
    for (const sub of [...this.table.ofTrack(pub.id)]) this.table.remove(sub, true);
    this.keyframes.forget(pub);
    this.loss.forgetPublication(pub);
    this.dynacast.forget(pub);
    this.speakers.forget(pub);
    this.quality.forgetPublication(pub);
    this.publishing.remove(pub);
  }

  // -------------------------------------------------------------------------------------------
  // Forwarding: the hot path
  // -------------------------------------------------------------------------------------------

  private onRtp(input: In.RtpInput): void {
    const pub = this.publishing.get(input.trackId);
    if (pub === undefined || pub.publisher.id !== input.publisherId) return;
    const subs = this.table.ofTrack(pub.id);
    const { layer, keyframe, now, marker, audioLevel } = input;
    pub.rate.add(layer, input.size, now);
    if (audioLevel !== undefined && audioLevel >= 0 && pub.kind === "audio") this.speakers.add(pub, audioLevel, now);
    this.quality.onPacket(pub, layer, input.seq, input.timestamp, now);
    let switched = false;
    let forwarded = false;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      const before = sub.currentLayer;
      if (sub.accept(input)) {
        if (sub.currentLayer !== before) switched = true;
        forwarded = true;
        const { rewriter, pictureIds } = sub;
        this.pacing.forward(sub, layer, input.seq, input.size, now, rewriter.seq, rewriter.timestamp, marker, pictureIds.pictureId, pictureIds.tl0PicIdx);
        sub.history?.record(rewriter.seq, layer, input.seq, rewriter.timestamp, marker, pictureIds.pictureId, pictureIds.tl0PicIdx, input.size);
      } else if (!keyframe && layer === sub.targetLayer && sub.needsKeyframe) {
        // Still waiting for a keyframe while the layer flows: the request (or its keyframe) was lost,
        // or it went out before the publisher sent anything. Ask again; the throttle paces it.
        this.keyframes.request(pub, layer, now);
      }
    }
    this.loss.onPacket(pub, layer, input.seq, now, forwarded);
    if (switched) this.dynacast.update(pub); // the layer switched away from may be unneeded now
  }

  // -------------------------------------------------------------------------------------------
  // Data
  // -------------------------------------------------------------------------------------------

  private onData(input: In.DataInput): void {
    const sender = this.members.get(input.participantId);
    if (sender === undefined) return;
    if (input.malformed !== undefined) {
      this.dataRefused++;
      this.out.error(sender.id, input.messageId, "bad-data", `data frame refused: ${input.malformed}`);
      return;
    }
    const route = routeData(sender, input, this.config);
    if ("code" in route) {
      this.dataRefused++;
      this.out.error(sender.id, input.messageId, route.code, route.message);
      return;
    }
    if (route.recipients.length === 0 && route.relayed.length === 0) return;
    this.dataRelayed++;
    this.out.push({ type: "deliver-data", from: sender.id, recipients: route.recipients, reliable: input.reliable, ...(route.relayed.length > 0 ? { relayed: route.relayed } : {}) });
  }

  private onDataBackedUp(input: In.DataBackedUpInput): void {
    if (this.members.get(input.participantId) === undefined) return;
    for (const id of input.recipients) {
      const presence = this.members.get(id)?.presence;
      const who = presence?.kind === "pipe" ? `relay node ${presence.node} (the participants there)` : `participant "${id}"`;
      this.out.error(input.participantId, input.messageId, "rate-limited", `${who} is not keeping up with reliable data; the frame was not delivered to them`);
    }
  }
}

/** The protocol's name of each request input, for `not-joined`. */
const REQUEST_NAMES: Record<"publish-offer" | "unpublish" | "mute" | "subscribe" | "subscription-settings" | "keyframe-request" | "restart-ice" | "refresh-token", string> = {
  "publish-offer": "publish-offer",
  unpublish: "unpublish",
  mute: "mute",
  subscribe: "subscribe",
  "subscription-settings": "subscription-settings",
  "keyframe-request": "request-keyframe",
  "restart-ice": "restart-ice",
  "refresh-token": "refresh-token",
};

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

function countByKind<T>(items: Iterable<T>, kindOf: (item: T) => "audio" | "video"): Record<"audio" | "video", number> {
  const counts = { audio: 0, video: 0 };
  for (const item of items) counts[kindOf(item)]++;
  return counts;
}

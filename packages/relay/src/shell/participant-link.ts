/**
 * ParticipantLink: the werift side of one joined participant — its subscriber connection (made at
 * join: it carries the data channels, and its transport is up before the first track arrives), its
 * publisher connection (made by the first publish), and the watch on both that notices when they die
 * or when the subscriber connection never comes up (a join that never connects media holds a place in
 * its room: it is let go after the peer timeout). It reports media lost; the core decides (a
 * participant who is away is kept for their resume window), so while the media stays down the report
 * is repeated every grace period. It owns their lifecycle: `close()` releases everything, once.
 *
 * A publish-only participant (a WHIP publisher, http/whip.ts) has no subscriber connection: it receives
 * nothing, so it holds only its publisher connection, and that is the one watched. A view-only one (a
 * WHEP viewer) has a subscriber connection that answers the viewer's offer (SubscriberConnection's
 * answering mode) and never publishes.
 */
import type { Logger } from "pino";
import type { RtpPacket } from "werift";
import type { FeedbackPacket } from "../core/index.ts";
import type { RtcNetworkOptions } from "../rtc/media-config.ts";
import { PublisherConnection } from "../rtc/publisher-connection.ts";
import { SubscriberConnection } from "../rtc/subscriber-connection.ts";
import type { SubscriberTrack } from "@sfu-room/protocol";

export interface LinkOptions {
  net: RtcNetworkOptions;
  /** A connection that stays failed or disconnected this long takes its participant with it (ms). */
  peerTimeoutMs: number;
  /** No subscriber connection: the participant only publishes (WHIP). */
  publishOnly?: boolean | undefined;
  /** The subscriber connection answers the participant's offer: it only watches (WHEP). */
  viewOnly?: boolean | undefined;
}

/** What the link reports; the shell turns each into a core input or a message. */
export interface LinkEvents {
  onRtp(trackId: string, layer: number, packet: RtpPacket, codec: string, audioLevel: number): void;
  onData(reliable: boolean, frame: Buffer): void;
  onSubscriberOffer(offerId: number, sdp: string, tracks: SubscriberTrack[]): void;
  onSubscriptionReady(subscriptionId: number): void;
  onBandwidthEstimate(bitsPerSecond: number): void;
  onTransportFeedback(packets: FeedbackPacket[]): void;
  onPictureLoss(subscriptionId: number): void;
  /** The subscriber sent a generic NACK on a subscription: the sequence numbers (as it received them) it lacks. */
  onNackFromSubscriber(subscriptionId: number, seqs: readonly number[]): void;
  /** The subscriber connection measured the round trip to this participant (ms). */
  onRoundTrip(rttMs: number): void;
  /** The publisher connection sent the publisher transport-cc feedback. */
  onTransportFeedbackToPublisher(): void;
  /** What arrived from a REMB-only publisher since the last call (its abs-send-times). */
  onArrivalsFromPublisher(packets: FeedbackPacket[]): void;
  /** The relay could not make a subscriber offer: the participant's media cannot go on. */
  onSubscriberFailure(message: string): void;
  /** A connection stayed down past the grace, or never came up (repeated while it stays so). */
  onLost(reason: string): void;
}

export class ParticipantLink {
  readonly id: string;
  /** Logs about this participant: every line carries their participant and room ids. */
  readonly log: Logger;
  /** Undefined for a publish-only participant. */
  readonly subscriber: SubscriberConnection | undefined;
  #publisher: PublisherConnection | undefined;
  /** Armed while a connection is disconnected/failed; reports the participant lost when it fires. */
  #deadPeerTimer: NodeJS.Timeout | undefined;
  /** Armed from join until the subscriber connection first connects. */
  #connectTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #options: LinkOptions;
  readonly #events: LinkEvents;

  constructor(id: string, log: Logger, options: LinkOptions, events: LinkEvents) {
    this.id = id;
    this.log = log;
    this.#options = options;
    this.#events = events;
    this.subscriber = options.publishOnly ? undefined : new SubscriberConnection(options.net, {
      onOffer: (offerId, sdp, tracks) => events.onSubscriberOffer(offerId, sdp, tracks),
      onData: (reliable, frame) => events.onData(reliable, frame),
      onSubscriptionReady: (subscriptionId) => events.onSubscriptionReady(subscriptionId),
      onBandwidthEstimate: (bitsPerSecond) => events.onBandwidthEstimate(bitsPerSecond),
      onTransportFeedback: (packets) => events.onTransportFeedback(packets),
      onKeyframeRequest: (subscriptionId) => events.onPictureLoss(subscriptionId),
      onNack: (subscriptionId, seqs) => events.onNackFromSubscriber(subscriptionId, seqs),
      onRoundTrip: (rttMs) => events.onRoundTrip(rttMs),
      onConnectionState: (state) => this.#stateChanged("subscriber", state),
      onFailure: (message) => events.onSubscriberFailure(message),
    }, options.viewOnly === true);
    this.#armConnectTimer();
  }

  #armConnectTimer(): void {
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      const state = this.#watched?.pc.connectionState ?? "new";
      if (this.#closed || state === "connected") return;
      this.#armConnectTimer();
      this.#events.onLost(`media connection never came up (${state})`);
    }, this.#options.peerTimeoutMs);
  }

  /** The connection whose first "connected" ends the connect timer: the subscriber's, or for publish-only the publisher's. */
  get #watched(): SubscriberConnection | PublisherConnection | undefined {
    return this.subscriber ?? this.#publisher;
  }

  /** The publisher connection, while the participant has published. */
  get publisher(): PublisherConnection | undefined {
    return this.#publisher;
  }

  /** The publisher connection, made on first use. */
  publisherConnection(): PublisherConnection {
    this.#publisher ??= new PublisherConnection(this.#options.net, {
      onRtp: (trackId, layer, packet, codec, audioLevel) => this.#events.onRtp(trackId, layer, packet, codec, audioLevel),
      onTransportFeedbackSent: () => this.#events.onTransportFeedbackToPublisher(),
      onArrivals: (packets) => this.#events.onArrivalsFromPublisher(packets),
      onConnectionState: (state) => this.#stateChanged("publisher", state),
    });
    return this.#publisher;
  }

  /** A first publish failed before any description was applied: drop the unused publisher connection. */
  dropUnusedPublisher(): void {
    const publisher = this.#publisher;
    if (publisher === undefined || publisher.pc.remoteDescription !== null) return;
    this.#publisher = undefined;
    publisher.close().catch(() => undefined);
  }

  /** The state of each connection held (for the metrics' count by state). */
  connectionStates(): string[] {
    if (this.#closed) return [];
    return [this.subscriber, this.#publisher].filter((c) => c !== undefined).map((c) => c.pc.connectionState as string);
  }

  get connectionCount(): number {
    return this.#closed ? 0 : (this.subscriber ? 1 : 0) + (this.#publisher ? 1 : 0);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Releases both connections and the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#deadPeerTimer);
    this.#deadPeerTimer = undefined;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#publisher?.close().catch(() => undefined);
    this.subscriber?.close().catch(() => undefined);
  }

  #stateChanged(connection: "publisher" | "subscriber", state: string): void {
    this.log.info({ connection, state }, "peer connection state changed");
    this.#watch(state);
  }

  /**
   * The client is back (resumed) or restarting ICE: a connection that is down gets the full grace from
   * now to come back, so the watch does not remove them in the moment before ICE connects again.
   */
  restarting(): void {
    if (this.#closed || this.#deadPeerTimer === undefined) return;
    clearTimeout(this.#deadPeerTimer);
    this.#deadPeerTimer = undefined;
    this.#armDeadPeerTimer("disconnected");
  }

  /**
   * A connection that stays failed or disconnected takes its participant with it. werift reports
   * "failed" spuriously when a renegotiation lands while it is still connecting (and then "connected"
   * once the first attempt completes), so the dead-peer timer re-checks the actual states before acting.
   */
  #watch(state: string): void {
    if (state === "connected" && this.#watched?.pc.connectionState === "connected") {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    }
    if (this.#closed || (state !== "disconnected" && state !== "failed") || this.#deadPeerTimer) return;
    this.#armDeadPeerTimer(state);
  }

  /** Grace like LiveKit's: disconnected for the peer timeout (10 s by default), failed for at most 5 s. */
  #armDeadPeerTimer(state: "disconnected" | "failed"): void {
    const { peerTimeoutMs } = this.#options;
    const grace = state === "failed" ? Math.min(5000, peerTimeoutMs) : peerTimeoutMs;
    this.#deadPeerTimer = setTimeout(() => {
      this.#deadPeerTimer = undefined;
      if (this.#closed) return;
      const states = [this.#publisher?.pc.connectionState, this.subscriber?.pc.connectionState];
      const bad = states.find((s) => s === "failed" || s === "disconnected" || s === "closed");
      if (bad === undefined) return;
      this.#armDeadPeerTimer(bad === "disconnected" ? "disconnected" : "failed");
      this.#events.onLost(`connection lost (${bad})`);
    }, grace);
  }
}

/**
 * Sfu: the I/O shell around the sans-I/O core. It is the only place where the core meets the world:
 *
 *   signaling session / werift event  ->  core.handle(input with now)  ->  drain(): core.poll() until
 *   a timeout output  ->  each output executed here (send a message, add an m-line, forward a packet,
 *   send a PLI, release a participant)  ->  one timer armed for the core's next deadline.
 *
 * Everything that needs a clock, a socket or a promise lives here or below (rtc/, signal/); every
 * decision lives in the core.
 */
import type { Logger } from "pino";
import {
  type DataFrame,
  decodeDataFrame,
  encodeDataFrame,
  type PublishOfferMessage,
  type ServerMessage,
  type SubscriptionSettingsMessage,
} from "@sfu-room/protocol";
import { SfuCore } from "./core/index.ts";
import type { CoreConfig, CoreStats, Input, RtpInput } from "./core/types.ts";
import { isKeyframeStart } from "./media/keyframe.ts";
import type { RtcNetworkOptions } from "./rtc/media-config.ts";
import { PublisherConnection, type PublisherTrackBinding, SdpError } from "./rtc/publisher-connection.ts";
import { StaleAnswerError, SubscriberConnection } from "./rtc/subscriber-connection.ts";
import type { RtpPacket } from "werift";

/** What the Sfu needs from a signaling session. */
export interface SessionPort {
  send(message: ServerMessage): void;
  /** Ends the session (closes the WebSocket) after a fatal error or a leave. */
  close(reason: string): void;
}

export interface SfuOptions {
  core: CoreConfig;
  net: RtcNetworkOptions;
  /** A participant whose connections stay failed or disconnected this long is removed (ms). */
  peerTimeoutMs: number;
  log: Logger;
}

/** Everything the relay holds for one participant, released together on leave. */
interface ParticipantLink {
  id: string;
  session: SessionPort;
  publisher: PublisherConnection | undefined;
  subscriber: SubscriberConnection | undefined;
  /** Armed while a connection is disconnected/failed; removes the participant when it fires. */
  deadPeerTimer: NodeJS.Timeout | undefined;
}

export interface SfuStats extends CoreStats {
  /** werift RTCPeerConnections held (two per participant at most). */
  peerConnections: number;
}

export class Sfu {
  private readonly core: SfuCore;
  private readonly links = new Map<string, ParticipantLink>();
  private readonly subscriberOf = new Map<number, ParticipantLink>(); // subscriptionId -> subscriber
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** The frame of the `data` input being drained: `deliver-data` outputs refer to it. */
  private currentData: DataFrame | undefined;
  /** The packet of the `rtp` input being drained: `forward` outputs refer to it. */
  private currentPacket: RtpPacket | undefined;
  private readonly rtpInput: RtpInput = {
    type: "rtp", now: 0, publisherId: "", trackId: "", layer: 0, seq: 0, timestamp: 0, marker: false, keyframe: false, size: 0,
  };
  private closed = false;

  private readonly options: SfuOptions;

  constructor(options: SfuOptions) {
    this.options = options;
    this.core = new SfuCore(options.core);
  }

  stats(): SfuStats {
    let peerConnections = 0;
    for (const link of this.links.values()) peerConnections += (link.publisher ? 1 : 0) + (link.subscriber ? 1 : 0);
    return { ...this.core.stats(), peerConnections };
  }

  // ------------------------------------------------------------------------------------------
  // Called by signaling sessions
  // ------------------------------------------------------------------------------------------

  join(participantId: string, session: SessionPort, requestId: string, room: string, name: string, autoSubscribe: boolean): boolean {
    const link: ParticipantLink = {
      id: participantId, session, publisher: undefined, subscriber: undefined, deadPeerTimer: undefined,
    };
    this.links.set(participantId, link);
    this.drive({ type: "join", now: now(), participantId, requestId, room, name, autoSubscribe });
    if (this.core.participantRoom(participantId) === undefined) {
      this.links.delete(participantId); // refused (room full): nothing of it stays
      return false;
    }
    // The subscriber connection exists from the start: it carries the data channels, and its transport
    // is up before the first track arrives.
    link.subscriber ??= this.createSubscriber(link);
    return true;
  }

  /** Answers a publish offer: SDP first (so a bad offer changes nothing), then the core learns the tracks. */
  async publish(participantId: string, message: PublishOfferMessage, newTrackId: () => string): Promise<void> {
    const link = this.links.get(participantId);
    if (!link) return;
    const refusal = this.core.publishRefusal(participantId, message.tracks.length);
    if (refusal !== undefined) {
      link.session.send({ type: "error", id: message.id, code: "too-many-tracks", message: refusal });
      return;
    }
    const bindings: PublisherTrackBinding[] = message.tracks.map((t) => ({
      trackId: newTrackId(), mid: t.mid, kind: t.kind, layers: t.layers,
    }));
    link.publisher ??= this.createPublisher(link);
    let answer: Awaited<ReturnType<PublisherConnection["answer"]>>;
    try {
      answer = await link.publisher.answer(message.sdp, bindings);
    } catch (e) {
      if (!this.links.has(participantId)) return;
      const code = e instanceof SdpError ? "bad-sdp" : "internal";
      link.session.send({ type: "error", id: message.id, code, message: (e as Error).message });
      if (link.publisher.pc.remoteDescription === null) this.releasePublisher(link);
      return;
    }
    if (this.links.get(participantId) !== link) return; // left while negotiating
    link.session.send({
      type: "publish-answer", id: message.id, sdp: answer.sdp,
      tracks: answer.tracks.map((t) => ({ mid: t.mid, trackId: t.trackId })),
    });
    const specs = answer.tracks.map((t) => {
      const declared = message.tracks.find((d) => d.mid === t.mid)!;
      return {
        trackId: t.trackId, kind: t.kind, source: declared.source, codec: t.codec, clockRate: t.clockRate,
        layers: t.layers, layerSizes: declared.layerSizes, muted: declared.muted,
      };
    });
    if (specs.length > 0) this.drive({ type: "publish", now: now(), participantId, requestId: message.id, tracks: specs });
  }

  unpublish(participantId: string, requestId: string, trackId: string): void {
    const owned = this.core.trackOwner(trackId) === participantId;
    this.drive({ type: "unpublish", now: now(), participantId, requestId, trackId });
    if (owned) this.links.get(participantId)?.publisher?.unbind(trackId);
  }

  mute(participantId: string, requestId: string, trackId: string, muted: boolean): void {
    this.drive({ type: "mute", now: now(), participantId, requestId, trackId, muted });
  }

  subscribe(participantId: string, requestId: string, trackId: string, subscribe: boolean): void {
    this.drive({ type: "subscribe", now: now(), participantId, requestId, trackId, subscribe });
  }

  subscriptionSettings(participantId: string, message: SubscriptionSettingsMessage): void {
    const link = this.links.get(participantId);
    const subscriptionId = this.core.subscriptionOf(participantId, message.trackId);
    if (!link) return;
    if (subscriptionId === undefined) {
      link.session.send({
        type: "error", id: message.id, code: "unknown-track",
        message: `you are not subscribed to a track "${message.trackId}"; subscribe first`,
      });
      return;
    }
    const { quality, width, height, visible } = message;
    const settings = Object.fromEntries(Object.entries({ quality, width, height, visible }).filter(([, v]) => v !== undefined));
    this.drive({ type: "subscription-settings", now: now(), subscriptionId, settings });
    link.session.send({ type: "ok", id: message.id });
  }

  requestKeyframe(participantId: string, requestId: string, trackId: string): void {
    const link = this.links.get(participantId);
    const subscriptionId = this.core.subscriptionOf(participantId, trackId);
    if (!link) return;
    if (subscriptionId === undefined) {
      link.session.send({
        type: "error", id: requestId, code: "unknown-track",
        message: `you are not subscribed to a track "${trackId}"; subscribe first`,
      });
      return;
    }
    this.drive({ type: "keyframe-request", now: now(), subscriptionId });
    link.session.send({ type: "ok", id: requestId });
  }

  async subscriberAnswer(participantId: string, offerId: number, sdp: string): Promise<void> {
    const link = this.links.get(participantId);
    if (!link) return;
    if (!link.subscriber) {
      link.session.send({ type: "error", code: "stale-offer", message: `no subscriber offer ${offerId} was sent to you` });
      return;
    }
    try {
      await link.subscriber.handleAnswer(offerId, sdp);
    } catch (e) {
      const stale = e instanceof StaleAnswerError;
      link.session.send({
        type: "error", code: stale ? "stale-offer" : "bad-sdp",
        message: stale ? (e as Error).message : `the subscriber answer could not be applied: ${(e as Error).message}`,
      });
    }
  }

  /** The participant left or its session died. Idempotent. */
  leave(participantId: string): void {
    if (!this.links.has(participantId)) return;
    this.drive({ type: "leave", now: now(), participantId });
    // The core answers with participant-removed, which releases the link; make sure even if it did not.
    this.release(participantId);
  }

  /** Removes every participant and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.links.keys()]) this.leave(id);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  // ------------------------------------------------------------------------------------------
  // The run loop
  // ------------------------------------------------------------------------------------------

  private drive(input: Input): void {
    this.core.handle(input);
    this.drain();
  }

  private drain(): void {
    for (;;) {
      const out = this.core.poll();
      switch (out.type) {
        case "forward": {
          const link = this.subscriberOf.get(out.subscriptionId);
          if (link?.subscriber && this.currentPacket) {
            link.subscriber.forward(out.subscriptionId, this.currentPacket, out.seq, out.timestamp, out.marker);
          }
          break;
        }
        case "signal":
          this.links.get(out.participantId)?.session.send(out.message);
          break;
        case "subscription-added": {
          const link = this.links.get(out.subscriberId);
          if (!link) break;
          link.subscriber ??= this.createSubscriber(link);
          this.subscriberOf.set(out.subscriptionId, link);
          link.subscriber.add({
            subscriptionId: out.subscriptionId, trackId: out.trackId, publisherId: out.publisherId, kind: out.kind, codec: out.codec,
          });
          break;
        }
        case "subscription-removed": {
          const link = this.subscriberOf.get(out.subscriptionId);
          this.subscriberOf.delete(out.subscriptionId);
          link?.subscriber?.remove(out.subscriptionId);
          break;
        }
        case "request-keyframe":
          this.links.get(out.publisherId)?.publisher?.requestKeyframe(out.trackId, out.layer);
          break;
        case "layers-wanted": {
          const rids = this.core.trackLayers(out.trackId) ?? [];
          this.links.get(out.publisherId)?.session.send({ type: "layers-wanted", trackId: out.trackId, rids: rids.filter((_, i) => out.layers[i]) });
          break;
        }
        case "deliver-data":
          this.deliverData(out.from, out.recipients, out.reliable);
          break;
        case "participant-removed":
          this.release(out.participantId);
          break;
        case "timeout":
          this.arm(out.at);
          return;
      }
    }
  }

  private arm(at: number): void {
    if (this.closed || at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.drive({ type: "timeout", now: now() });
    }, Math.max(0, at - now()));
  }

  private onRtp(publisherId: string, trackId: string, layer: number, packet: RtpPacket): void {
    const codec = this.core.trackCodec(trackId);
    if (codec === undefined) return;
    const input = this.rtpInput;
    input.now = now();
    input.publisherId = publisherId;
    input.trackId = trackId;
    input.layer = layer;
    input.seq = packet.header.sequenceNumber;
    input.timestamp = packet.header.timestamp;
    input.marker = packet.header.marker;
    input.keyframe = isKeyframeStart(codec, packet.payload);
    input.size = packet.payload.length;
    this.currentPacket = packet;
    this.drive(input);
    this.currentPacket = undefined;
  }

  private onData(link: ParticipantLink, reliable: boolean, bytes: Buffer): void {
    const decoded = decodeDataFrame(bytes);
    if (!decoded.ok) {
      link.session.send({ type: "error", code: "bad-data", message: `data frame refused: ${decoded.error}` });
      return;
    }
    const { header } = decoded.frame;
    this.currentData = decoded.frame;
    this.drive({ type: "data", now: now(), participantId: link.id, reliable, to: header.to, size: bytes.length, messageId: header.id });
    this.currentData = undefined;
  }

  /** Re-frames the current data frame with the sender stamped in, once, and sends it to each recipient. */
  private deliverData(from: string, recipients: string[], reliable: boolean): void {
    const frame = this.currentData;
    if (!frame) return;
    const { to: _to, id: _id, from: _claimed, ...rest } = frame.header;
    const encoded = encodeDataFrame({ header: { ...rest, from }, text: frame.text, payload: frame.payload });
    const bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    for (const id of recipients) {
      const result = this.links.get(id)?.subscriber?.sendData(reliable, bytes);
      if (result === "backed-up" && reliable) {
        this.links.get(from)?.session.send({
          type: "error", id: frame.header.id, code: "rate-limited",
          message: `participant "${id}" is not keeping up with reliable data; the frame was not delivered to them`,
        });
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Connections
  // ------------------------------------------------------------------------------------------

  private createPublisher(link: ParticipantLink): PublisherConnection {
    return new PublisherConnection(this.options.net, {
      onRtp: (trackId, layer, packet) => this.onRtp(link.id, trackId, layer, packet),
      onConnectionState: (state) => this.watchConnection(link, state),
    });
  }

  private createSubscriber(link: ParticipantLink): SubscriberConnection {
    return new SubscriberConnection(this.options.net, {
      onOffer: (offerId, sdp, tracks) => link.session.send({ type: "subscriber-offer", offerId, sdp, tracks }),
      onData: (reliable, frame) => this.onData(link, reliable, frame),
      onSubscriptionReady: (subscriptionId) => this.drive({ type: "subscription-ready", now: now(), subscriptionId }),
      onBandwidthEstimate: (bitsPerSecond) =>
        this.drive({ type: "bandwidth-estimate", now: now(), participantId: link.id, bitsPerSecond }),
      onKeyframeRequest: (subscriptionId) => this.drive({ type: "keyframe-request", now: now(), subscriptionId }),
      onConnectionState: (state) => this.watchConnection(link, state),
      onFailure: (message) => {
        this.options.log.warn({ participantId: link.id, message }, "subscriber negotiation failed");
        link.session.send({ type: "error", code: "internal", message });
      },
    });
  }

  /**
   * A connection that stays failed or disconnected takes its participant with it. werift reports
   * "failed" spuriously when a renegotiation lands while it is still connecting (and then "connected"
   * once the first attempt completes), so the timer re-checks the actual states before acting.
   */
  private watchConnection(link: ParticipantLink, state: string): void {
    if (state !== "disconnected" && state !== "failed") return;
    if (link.deadPeerTimer || this.links.get(link.id) !== link) return;
    const grace = state === "failed" ? Math.min(5000, this.options.peerTimeoutMs) : this.options.peerTimeoutMs;
    link.deadPeerTimer = setTimeout(() => {
      link.deadPeerTimer = undefined;
      if (this.links.get(link.id) !== link) return;
      const states = [link.publisher?.pc.connectionState, link.subscriber?.pc.connectionState];
      const bad = states.find((s) => s === "failed" || s === "disconnected" || s === "closed");
      if (bad === undefined) return;
      this.options.log.info({ participantId: link.id, state: bad }, "connection lost; removing participant");
      link.session.close("connection lost");
      this.leave(link.id);
    }, grace);
  }

  private releasePublisher(link: ParticipantLink): void {
    const publisher = link.publisher;
    link.publisher = undefined;
    publisher?.close().catch(() => undefined);
  }

  private release(participantId: string): void {
    const link = this.links.get(participantId);
    if (!link) return;
    this.links.delete(participantId);
    if (link.deadPeerTimer) clearTimeout(link.deadPeerTimer);
    link.deadPeerTimer = undefined;
    for (const [subscriptionId, owner] of this.subscriberOf) {
      if (owner === link) this.subscriberOf.delete(subscriptionId);
    }
    this.releasePublisher(link);
    const subscriber = link.subscriber;
    link.subscriber = undefined;
    subscriber?.close().catch(() => undefined);
  }
}

function now(): number {
  return performance.now();
}


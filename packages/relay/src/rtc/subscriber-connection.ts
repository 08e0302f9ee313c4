/**
 * A participant's subscriber connection: the relay offers, the client answers, forwarded RTP leaves here.
 *
 * One m-line per subscription. Negotiations are serialized: one offer in flight; changes made meanwhile
 * (subscriptions added or removed) are collected and sent in the next offer, so a burst of joins costs
 * one round trip. Existing m-lines are never touched by a renegotiation, so their SSRCs and packet flow
 * continue; a removed subscription's transceiver is stopped and werift reuses its m-line slot.
 *
 * After the first offer, no re-offer is sent until the connection is up: werift starts ICE/DTLS again
 * on every setRemoteDescription, and a second start while the first is still connecting flips the
 * connection to "failed" (on the relay and on a werift client alike). Changes wait and go out together.
 * An ICE restart is the exception for a connection that is down (disconnected, failed): restarting is
 * how it comes back. Its offer carries fresh ICE credentials and whatever else changed.
 *
 * An offer whose client was away (its signaling dropped) may never have arrived: after a resume the
 * unanswered offer is sent again, unchanged, and its answer is applied as usual.
 *
 * The connection also carries the participant's two data channels (negotiated, so both sides create
 * them with fixed ids): reliable/ordered, and lossy (unordered, no retransmission). It is created at
 * join, so data works and the transport is up before the first track arrives.
 *
 * A WHEP viewer's connection (`answering`) turns this around: the client offers a fixed set of recvonly
 * m-lines, the relay answers them sendonly (answer()), and each subscription takes a free m-line of its
 * kind instead of adding one, and gives it back when it ends. It never offers and has no data channels.
 * An m-line is one RTP stream (one SSRC) to the viewer, whichever subscription it carries: see `Line`.
 */

/** A lossy channel with this much queued drops new messages instead of adding latency. */
const LOSSY_BUFFER_LIMIT = 64 * 1024;
/** A reliable channel with this much queued refuses more for that recipient (it is not keeping up). */
const RELIABLE_BUFFER_LIMIT = 8 * 1024 * 1024;
import { randomInt } from "node:crypto";
import {
  GenericNack,
  ReceiverEstimatedMaxBitrate,
  type RTCDataChannel,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
} from "werift";
import { DATA_CHANNELS, type SubscriberTrack } from "@sfu-room/protocol";
import type { FeedbackPacket, ForwardOutput } from "../core/index.ts";
import { SequenceRewriter } from "../core/sequence-rewriter.ts";
import { asRedPayload, redPrimary, withRedBlockPayloadType } from "../media/red.ts";
import { withVp8PictureFields } from "../media/vp8-picture-id.ts";
import { audioLevelExtensions, audioLevelId } from "./audio-level.ts";
import { preferCheaperSrtp } from "./fast-send/srtp-preference.ts";
import { SubscriberPath } from "./fast-send/subscriber-path.ts";
import { FastTrackSender } from "./fast-send/track-sender.ts";
import { startRestartedIce } from "./ice-restart.ts";
import { type RtcNetworkOptions, subscriberCodecs, subscriberPeerConfig } from "./media-config.ts";
import { RED_MIME, withoutWeriftRedEncoder } from "./red-forwarding.ts";
import { watchSelectedPath } from "./selected-path.ts";
import { asJsepOffer, withSessionIceLite } from "./sdp-fixups.ts";
import { subscriberAnswerRefusal } from "./sdp-limits.ts";
import { SubscriberFeedback, withoutWeriftEstimator } from "./subscriber-feedback.ts";

/** What the core rewrote for one forwarded packet. */
export type ForwardValues = Pick<ForwardOutput, "subscriptionId" | "seq" | "timestamp" | "marker" | "pictureId" | "tl0PicIdx">;

export interface SubscriptionSpec {
  subscriptionId: number;
  trackId: string;
  publisherId: string;
  kind: "audio" | "video";
  codec: string;
}

export interface SubscriberEvents {
  /** Send this offer to the client (as a `subscriber-offer` message). */
  onOffer(offerId: number, sdp: string, tracks: SubscriberTrack[]): void;
  /** The subscription's m-line is negotiated and the transport is up: packets will now arrive. */
  onSubscriptionReady(subscriptionId: number): void;
  /** A data frame arrived on one of the data channels. */
  onData(reliable: boolean, frame: Buffer): void;
  /** The browser's downlink estimate for this connection (REMB), bits/s. */
  onBandwidthEstimate(bitsPerSecond: number): void;
  /** The client's transport-cc feedback, resolved against what was sent (for the core's estimate). */
  onTransportFeedback(packets: FeedbackPacket[]): void;
  /** The client's decoder asked for a keyframe (PLI) on this subscription. */
  onKeyframeRequest(subscriptionId: number): void;
  /** The client asked for lost packets (a generic NACK) on a subscription: the seqs it received them as. */
  onNack(subscriptionId: number, seqs: readonly number[]): void;
  /** A receiver report gave the round trip to the client (ms). */
  onRoundTrip(rttMs: number): void;
  onConnectionState(state: RTCPeerConnection["connectionState"]): void;
  /** Negotiation failed in a way the relay cannot recover from (e.g. the client answered garbage). */
  onFailure(message: string): void;
}

interface Slot {
  spec: SubscriptionSpec;
  transceiver: RTCRtpTransceiver;
  /** Included in an answered offer. */
  negotiated: boolean;
  /** onSubscriptionReady was reported. */
  ready: boolean;
  /** This connection's id of the audio-level extension (from the answer); undefined: video, or not negotiated. */
  audioLevelId: number | undefined;
  /** Audio whose answer kept RED: the payload type of Opus inside it (the blocks'); undefined: plain Opus, or video. */
  redBlockPayloadType: number | undefined;
  /** Sequence number of the next RTX packet (its own space, RFC 4588). */
  rtxSeq: number;
  /** Sends its forwarded packets, around werift's sender. */
  fast: FastTrackSender;
  /** Answering: the m-line it took; undefined: its own m-line. */
  line: Line | undefined;
}

/**
 * A WHEP viewer's m-line: one SSRC to the viewer while subscriptions come and go on it (the publisher it
 * follows leaves, the next one's track takes the line). Each subscription's packets are continuous in
 * themselves (the core's rewriter), two subscriptions' are not: the next one starts at its publisher's
 * seq. A jump on one SSRC misleads the viewer's SRTP: across a wrap its rollover counter guess (RFC 3711
 * 3.3.1) goes wrong, and libsrtp drops a jump back as a replay (3.3.2). The new publisher's media was
 * dropped: a WHEP follower showed nothing after the switch (CI, 1 run in 6 of whep.test.ts).
 * So the line maps each subscription's output through one more rewriter, a new layer per subscription,
 * as a simulcast switch continues a subscription's stream.
 */
interface Line {
  fast: FastTrackSender;
  continuity: SequenceRewriter;
  clockRate: number;
}

export class StaleAnswerError extends Error {}

export class SubscriberConnection {
  readonly pc: RTCPeerConnection;
  private readonly slots = new Map<number, Slot>();
  private offerId = 0;
  /** The offer waiting for its answer, the subscriptions it carries, and what was sent (once made). */
  /** The o= line of this connection's offers: one session id, a version per offer (asJsepOffer). */
  private readonly origin = { sessionId: String(randomInt(1, 2 ** 47)), version: 0 };
  private inFlight: { offerId: number; subscriptionIds: number[]; sent?: { sdp: string; tracks: SubscriberTrack[] } } | undefined;
  private dirty = false;
  /** The next offer restarts ICE (fresh credentials). */
  private iceRestartWanted = false;
  private scheduled = false;
  private closed = false;
  /** Where forwarded packets leave (SRTP and the socket), shared by every subscription of the connection. */
  private readonly path: SubscriberPath;
  /** One header object reused for every packet werift sends: its sendRtp clones it synchronously. */
  private readonly scratch = new RtpPacket(new RtpHeader(), Buffer.alloc(0));
  private readonly feedback: SubscriberFeedback;

  private readonly reliable: RTCDataChannel | undefined;
  private readonly lossy: RTCDataChannel | undefined;
  /** Answering (WHEP): the client's m-lines, which subscriptions take and give back; undefined: offering. */
  private readonly lines: RTCRtpTransceiver[] | undefined;
  /** Answering: each m-line, with its fast path and continuity (made once, whichever subscription it carries). */
  private readonly lineOf = new Map<RTCRtpTransceiver, Line>();

  private readonly events: SubscriberEvents;

  constructor(net: RtcNetworkOptions, events: SubscriberEvents, answering = false) {
    this.events = events;
    this.path = new SubscriberPath(net.accelerator);
    this.feedback = new SubscriberFeedback(
      () => performance.now(),
      (packets) => this.events.onTransportFeedback(packets),
      net.accelerator !== undefined ? (seqs, out, count) => this.path.departures(seqs, out, count) : undefined,
    );
    this.pc = new RTCPeerConnection(subscriberPeerConfig(net));
    watchSelectedPath(this.pc, net.onPathSelected);
    this.pc.connectionStateChange.subscribe((state) => {
      this.events.onConnectionState(state);
      if (state === "connected") this.reportReady();
      if (this.dirty) this.scheduleNegotiation(); // connected, or down with an ICE restart waiting
    });
    if (answering) {
      this.lines = [];
      return;
    }
    const { reliable, lossy } = DATA_CHANNELS;
    this.reliable = this.pc.createDataChannel(reliable.label, { negotiated: true, id: reliable.id, ordered: true });
    this.lossy = this.pc.createDataChannel(lossy.label, {
      negotiated: true, id: lossy.id, ordered: false, maxRetransmits: lossy.maxRetransmits,
    });
    for (const [channel, isReliable] of [[this.reliable, true], [this.lossy, false]] as const) {
      channel.onMessage.subscribe((data) => {
        // The protocol's frames are binary; a text message is a client bug, reported as an empty frame.
        this.events.onData(isReliable, typeof data === "string" ? Buffer.alloc(0) : data);
      });
    }
    this.scheduleNegotiation(); // the first offer (data channels, and tracks added this tick) goes at once
  }

  add(spec: SubscriptionSpec): void {
    if (this.closed || this.slots.has(spec.subscriptionId)) return;
    if (this.lines !== undefined) return this.takeLine(spec);
    const codecs = subscriberCodecs(spec.codec);
    const transceiver = this.pc.addTransceiver(spec.kind, { direction: "sendonly" });
    // a=msid:<publisher> <werift's sender id>: a client groups each publisher's audio and video into
    // one stream, which is what browsers keep in lip sync (and JSEP asks of a sending m-section). The
    // relay's track id travels in the offer's `tracks` list, by mid.
    transceiver.sender.streamIds = [spec.publisherId];
    if (codecs.length > 0) transceiver.setCodecPreferences(codecs); // and werift adds its RTX (media-config.ts)
    const fast = this.watchSender(transceiver, () => spec.subscriptionId);
    this.slots.set(spec.subscriptionId, { spec, transceiver, negotiated: false, ready: false, audioLevelId: undefined, redBlockPayloadType: undefined, rtxSeq: Math.floor(Math.random() * 0x10000), fast, line: undefined });
    this.scheduleNegotiation();
  }

  /**
   * The subscriber's feedback on this sender, for the subscription it carries now (undefined: none);
   * returns the fast path that sends its forwarded packets.
   */
  private watchSender(transceiver: RTCRtpTransceiver, subscriptionOf: () => number | undefined): FastTrackSender {
    const { sender } = transceiver;
    withoutWeriftRedEncoder(sender); // forwarded payloads are RED already where RED was negotiated
    withoutWeriftEstimator(sender);
    const withSubscription = (act: (subscriptionId: number) => void) => {
      const id = subscriptionOf();
      if (id !== undefined) act(id);
    };
    sender.onPictureLossIndication.subscribe(() => withSubscription((id) => this.events.onKeyframeRequest(id)));
    // The core answers NACKs from its history, once per round trip and within a budget (loss-recovery.ts);
    // werift would resend every NACKed packet from a cache of clones of its own (our werift patch adds the switch).
    sender.externalRetransmission = true;
    // REMB covers the whole connection; it reaches whichever sender the browser lists first. A NACK
    // names its sender's SSRC. werift has taken the round trip from a receiver report before this runs.
    sender.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback instanceof ReceiverEstimatedMaxBitrate) {
        this.events.onBandwidthEstimate(Number(packet.feedback.bitrate));
      } else if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof GenericNack) {
        const { lost } = packet.feedback;
        withSubscription((id) => {
          // On a viewer's m-line the viewer names the line's seqs; the core knows the subscription's.
          const line = this.lineOf.get(transceiver);
          this.events.onNack(id, line === undefined ? lost : lost.map((seq) => line.continuity.inputSeq(seq)));
        });
      } else if (packet instanceof RtcpRrPacket && packet.reports.some((r) => r.ssrc === sender.ssrc) && sender.rtt !== undefined) {
        this.events.onRoundTrip(sender.rtt * 1000);
      }
    });
    return new FastTrackSender(sender, this.path);
  }

  /**
   * Answering: answers the client's offer, each recvonly audio/video m-line with a sendonly one that
   * subscriptions will take (every one of them free until then). Called before any add(), and again
   * with the same m-lines and new ICE credentials to restart ICE.
   */
  async answer(offer: string): Promise<string> {
    const lines = this.lines!;
    // The m-lines are made for the first offer; a later one (an ICE restart) has the same m-lines.
    for (const kind of lines.length === 0 ? recvonlyKinds(offer) : []) {
      const transceiver = this.pc.addTransceiver(kind, { direction: "sendonly" });
      const fast = this.watchSender(transceiver, () => [...this.slots.values()].find((s) => s.transceiver === transceiver)?.spec.subscriptionId);
      lines.push(transceiver);
      this.lineOf.set(transceiver, { fast, continuity: new SequenceRewriter(), clockRate: kind === "audio" ? 48_000 : 90_000 });
    }
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    startRestartedIce(this.pc); // an ICE-restart offer
    return withSessionIceLite(this.pc.localDescription!.sdp);
  }

  /** Answering: the subscription takes the first free m-line of its kind whose codec is its own, if any. */
  private takeLine(spec: SubscriptionSpec): void {
    const taken = new Set([...this.slots.values()].map((s) => s.transceiver));
    const codec = spec.codec.toLowerCase();
    const transceiver = this.lines!.find((t) => t.kind === spec.kind && !taken.has(t) && t.codecs[0]?.mimeType.toLowerCase() === codec);
    if (transceiver === undefined) return; // nowhere to send it: the viewer's offer has no such m-line free
    const audioLevel = spec.kind === "audio" ? audioLevelId(transceiver) : undefined;
    const red = spec.kind === "audio" ? redBlockPayloadType(transceiver) : undefined;
    const line = this.lineOf.get(transceiver)!;
    line.continuity.startLayer(); // this subscription's first packet follows the line's last one
    this.slots.set(spec.subscriptionId, { spec, transceiver, negotiated: true, ready: false, audioLevelId: audioLevel, redBlockPayloadType: red, rtxSeq: Math.floor(Math.random() * 0x10000), fast: line.fast, line });
    this.reportReady();
  }

  remove(subscriptionId: number): void {
    const slot = this.slots.get(subscriptionId);
    if (!slot || this.closed) return;
    this.slots.delete(subscriptionId);
    if (this.lines !== undefined) return; // answering: the m-line is free for the next subscription
    if (slot.transceiver.mid !== null && slot.transceiver.mid === this.bundleTag()) {
      // Stopping the BUNDLE-tagged m-line (port 0) makes werift move the tag to another mid, and
      // Chromium then drops the established transport: the connection goes "connecting", then
      // "failed", for every subscriber of the participant who joined first. Keep that m-line, inactive.
      slot.transceiver.setDirection("inactive");
    } else {
      slot.transceiver.stop();
    }
    this.scheduleNegotiation();
  }

  /** The first mid of the negotiated BUNDLE group: the m-line whose transport all the others share. */
  private bundleTag(): string | undefined {
    return /^a=group:BUNDLE (\S+)/m.exec(this.pc.localDescription?.sdp ?? "")?.[1];
  }

  /**
   * Sends one forwarded packet on a subscription's m-line with the core's rewritten values (`to`) and
   * the publisher's audio level byte (-1: none; `red`: its payload is RED): through the fast path, or
   * werift's sender where that path does not apply (fast-send/track-sender.ts says when).
   */
  forward(to: ForwardValues, source: RtpPacket, audioLevel: number, red: boolean, again = false): void {
    const slot = this.slots.get(to.subscriptionId);
    if (!slot) return;
    // Audio as this m-line negotiated it (RED or plain Opus); VP8 frame numbering continuous across
    // layer switches, as the core rewrote it (a copy when changed).
    const payload = slot.spec.kind === "audio" ? audioPayload(source.payload, red, slot.redBlockPayloadType) : withVp8PictureFields(source.payload, to.pictureId, to.tl0PicIdx);
    if (payload === undefined) return; // RED that is not well-formed: nothing to forward
    // The audio level goes on under this connection's id, if it negotiated one.
    const level = slot.audioLevelId !== undefined ? audioLevel : -1;
    const onLine = onLineOf(slot, to);
    if (onLine === undefined) return; // from before this subscription took its viewer's m-line
    const { seq, timestamp, marker } = onLine;
    const result = slot.fast.send({ seq, timestamp, marker, payload, audioLevel: level }, again);
    if (result === "unsupported") this.sendThroughWerift(slot, onLine, payload, level); // never for `again` (fast.send says why)
    if (again && result === "sent") this.feedback.forget(slot.fast.resentTransportSeq);
    else this.feedback.sent(slot.transceiver.sender.dtlsTransport, payload.length);
  }

  private sendThroughWerift(slot: Slot, to: ForwardValues, payload: Buffer, audioLevel: number): void {
    const header = this.scratch.header;
    header.payloadType = 0; // werift's sender writes the negotiated codec's
    header.sequenceNumber = to.seq;
    header.timestamp = to.timestamp;
    header.marker = to.marker;
    header.padding = false;
    header.paddingSize = 0;
    // The publisher's header extensions use the publisher's ids: never pass them on (notes/werift.md).
    // werift's sender appends what it does not write itself: the audio level.
    if (slot.audioLevelId !== undefined && audioLevel >= 0) {
      header.extension = true;
      header.extensions = audioLevelExtensions(slot.audioLevelId, audioLevel);
    } else {
      header.extension = false;
      header.extensions = [];
    }
    header.csrc = [];
    header.csrcLength = 0;
    this.scratch.payload = payload;
    slot.transceiver.sender.sendRtp(this.scratch).catch(() => undefined);
  }

  /**
   * Sends a packet the subscriber NACKed again, with the values it first went out with (`to`): as RTX
   * (RFC 4588: its own SSRC and sequence numbers, the original seq in front of the payload) when the
   * subscriber's answer accepted RTX, else as the forward once more.
   */
  resend(to: ForwardValues, source: RtpPacket): void {
    // Without RTX: the same packet again, byte for byte (FastTrackSender.send says why).
    if (this.sendRtx(to, source) === "no-rtx") this.forward(to, source, -1, false, true);
  }

  /**
   * Sends a packet the subscriber was already sent, as probe padding (core/probing.ts): as RTX, or not
   * at all where RTX was declined (on the media SSRC it would be an SRTP replay, dropped unseen).
   */
  probe(to: ForwardValues, source: RtpPacket): void {
    this.sendRtx(to, source);
  }

  /**
   * One RTX packet through the fast path (with the transport-wide seq, so the feedback covers it), or
   * werift's transport where the fast path does not apply.
   */
  private sendRtx(to: ForwardValues, source: RtpPacket): "sent" | "no-rtx" | "gone" {
    const slot = this.slots.get(to.subscriptionId);
    if (!slot) return "gone";
    const { transceiver } = slot;
    const primary = transceiver.codecs.find((c) => c.name.toLowerCase() !== "rtx");
    const rtx = transceiver.codecs.find((c) => c.name.toLowerCase() === "rtx" && Number(/(?:^|;)\s*apt=(\d+)/.exec(c.parameters ?? "")?.[1]) === primary?.payloadType);
    if (rtx === undefined) return "no-rtx";
    const onLine = onLineOf(slot, to);
    if (onLine === undefined) return "gone";
    const payload = withVp8PictureFields(source.payload, to.pictureId, to.tl0PicIdx);
    const wrapped = Buffer.allocUnsafe(2 + payload.length);
    wrapped.writeUInt16BE(onLine.seq, 0);
    payload.copy(wrapped, 2);
    const seq = slot.rtxSeq;
    slot.rtxSeq = (slot.rtxSeq + 1) & 0xffff;
    const packet = { seq, timestamp: onLine.timestamp, marker: to.marker, payload: wrapped, audioLevel: -1 };
    if (slot.fast.sendRtx(packet, rtx.payloadType) === "unsupported") {
      const header = new RtpHeader({ payloadType: rtx.payloadType, sequenceNumber: seq, timestamp: onLine.timestamp, marker: to.marker, ssrc: transceiver.sender.rtxSsrc });
      transceiver.sender.dtlsTransport.sendRtp(wrapped, header).catch(() => undefined);
    }
    this.feedback.sent(transceiver.sender.dtlsTransport, wrapped.length);
    return "sent";
  }

  /**
   * Sends a data frame: "sent", or why not: the channel is not open (yet), or it is backed up (on the
   * lossy channel the frame is dropped, as lossy data should be; on the reliable one the recipient is
   * not keeping up).
   */
  sendData(reliable: boolean, frame: Buffer): "sent" | "not-open" | "backed-up" {
    const channel = reliable ? this.reliable : this.lossy;
    if (this.closed || channel?.readyState !== "open") return "not-open";
    if (channel.bufferedAmount > (reliable ? RELIABLE_BUFFER_LIMIT : LOSSY_BUFFER_LIMIT)) return "backed-up";
    channel.send(frame);
    return "sent";
  }

  /** Applies the client's answer to offer `offerId`. */
  async handleAnswer(offerId: number, sdp: string): Promise<void> {
    if (!this.inFlight || this.inFlight.offerId !== offerId) {
      throw new StaleAnswerError(
        this.inFlight
          ? `answer to offer ${offerId}, but offer ${this.inFlight.offerId} is the one waiting for an answer`
          : `answer to offer ${offerId}, but no subscriber offer is waiting for an answer`,
      );
    }
    const overLimit = subscriberAnswerRefusal(sdp, this.pc.localDescription?.sdp);
    if (overLimit !== undefined) throw new Error(overLimit);
    const { subscriptionIds } = this.inFlight;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    startRestartedIce(this.pc); // the answer to an ICE-restart offer
    this.inFlight = undefined;
    for (const id of subscriptionIds) {
      const slot = this.slots.get(id);
      if (!slot) continue;
      slot.negotiated = true;
      slot.audioLevelId = slot.spec.kind === "audio" ? audioLevelId(slot.transceiver) : undefined;
      slot.redBlockPayloadType = slot.spec.kind === "audio" ? redBlockPayloadType(slot.transceiver) : undefined;
    }
    this.reportReady();
    if (this.dirty) this.scheduleNegotiation();
  }

  /** Sends the offer waiting for an answer once more (its client may have missed it while away). */
  resendOffer(): void {
    const offer = this.inFlight;
    if (this.closed || offer?.sent === undefined) return;
    this.events.onOffer(offer.offerId, offer.sent.sdp, offer.sent.tracks);
  }

  /**
   * The next offer restarts ICE: at once when nothing is in flight and the connection is up or down
   * (not while it is still connecting), else after the answer or when it connects.
   */
  restartIce(): void {
    if (this.closed) return;
    this.iceRestartWanted = true;
    this.scheduleNegotiation();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.slots.clear();
    this.path.close();
    await this.pc.close();
  }

  private reportReady(): void {
    if (this.pc.connectionState !== "connected") return;
    for (const slot of this.slots.values()) {
      if (slot.negotiated && !slot.ready) {
        slot.ready = true;
        this.events.onSubscriptionReady(slot.spec.subscriptionId);
      }
    }
  }

  /** Coalesces every change made in the same tick into one offer. */
  private scheduleNegotiation(): void {
    if (this.lines !== undefined) return; // answering: the client offers, never the relay
    this.dirty = true;
    if (this.scheduled || this.inFlight || !this.canRenegotiate()) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (!this.closed && !this.inFlight && this.dirty && this.canRenegotiate()) {
        this.negotiate().catch((e: Error) => this.events.onFailure(`subscriber offer failed: ${e.message}`));
      }
    });
  }

  /**
   * The first offer goes at once; later ones only over a connected transport, and an ICE restart also
   * over one that is down (see the top comment).
   */
  private canRenegotiate(): boolean {
    const state = this.pc.connectionState;
    return this.offerId === 0 || state === "connected" || (this.iceRestartWanted && (state === "disconnected" || state === "failed"));
  }

  private async negotiate(): Promise<void> {
    this.dirty = false;
    const offerId = ++this.offerId;
    const subscriptionIds = [...this.slots.keys()];
    const inFlight: NonNullable<typeof this.inFlight> = { offerId, subscriptionIds };
    this.inFlight = inFlight;
    const iceRestart = this.iceRestartWanted;
    this.iceRestartWanted = false;
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    preferCheaperSrtp(this.pc, this.path.native);
    if (this.closed) return;
    const tracks: SubscriberTrack[] = [];
    for (const slot of this.slots.values()) {
      const mid = slot.transceiver.mid;
      if (mid === null) continue;
      tracks.push({ mid, trackId: slot.spec.trackId, participantId: slot.spec.publisherId, kind: slot.spec.kind });
    }
    this.origin.version++;
    inFlight.sent = { sdp: asJsepOffer(withSessionIceLite(this.pc.localDescription!.sdp), this.origin), tracks };
    this.events.onOffer(offerId, inFlight.sent.sdp, tracks);
  }
}

/**
 * The seq and timestamp a packet goes out with: the core's, or on a viewer's m-line the line's
 * continuation of them (undefined: the packet predates this subscription on the line).
 */
function onLineOf(slot: Slot, to: ForwardValues): ForwardValues | undefined {
  const { line } = slot;
  if (line === undefined) return to;
  if (!line.continuity.rewrite(to.seq, to.timestamp, performance.now(), line.clockRate)) return undefined;
  return { ...to, seq: line.continuity.seq, timestamp: line.continuity.timestamp };
}

/**
 * The payload for an audio subscription: RED where its answer kept RED (the publisher's, its blocks
 * renumbered to this m-line's Opus, or a plain frame wrapped as one block), else plain Opus (a RED
 * packet's primary block); undefined for RED that is not well-formed.
 */
function audioPayload(payload: Buffer, red: boolean, redBlockPayloadType: number | undefined): Buffer | undefined {
  if (redBlockPayloadType === undefined) return red ? redPrimary(payload) : payload;
  return red ? withRedBlockPayloadType(payload, redBlockPayloadType) : asRedPayload(payload, redBlockPayloadType);
}

/** The Opus payload type inside RED, when the m-line sends RED (the codec werift stamps on what it sends). */
function redBlockPayloadType(transceiver: RTCRtpTransceiver): number | undefined {
  const sending = transceiver.sender.codec;
  if (sending?.mimeType.toLowerCase() !== RED_MIME) return undefined;
  const opus = Number(/^(\d+)/.exec(sending.parameters ?? "")?.[1]);
  return transceiver.codecs.find((c) => c.payloadType === opus)?.payloadType;
}

/** The kinds of the offer's audio/video m-lines the client receives on (recvonly or sendrecv), in order. */
export function recvonlyKinds(offer: string): Array<"audio" | "video"> {
  const kinds: Array<"audio" | "video"> = [];
  for (const section of offer.split(/\r?\n(?=m=)/).slice(1)) {
    const kind = /^m=(audio|video) [1-9]/.exec(section)?.[1] as "audio" | "video" | undefined;
    if (kind !== undefined && /^a=(recvonly|sendrecv)\r?$/m.test(section)) kinds.push(kind);
  }
  return kinds;
}

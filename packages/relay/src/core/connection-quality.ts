/**
 * ConnectionQuality: how well each participant's connections carry media, as the relay sees them
 * (LiveKit's model: the server decides and tells the room). Every `intervalMs` it closes an interval
 * and rates each participant from what that interval brought:
 *
 * - **loss**: the worse of the uplink (packets of their tracks missing at the relay: the gap between
 *   the highest sequence number and the packets that arrived, per simulcast layer; resends count as
 *   arrived) and the downlink (packets their transport-cc feedback reports lost);
 * - **round trip**: the latest their receiver reports gave;
 * - **jitter**: RFC 3550 interarrival jitter of their audio at the relay (video is paced in bursts, so
 *   its jitter says little about the path).
 *
 * "poor" at `poorLoss` or more loss, `poorRttMs` or more round trip, or `poorJitterMs` or more jitter;
 * "lost" when media stopped coming: an unmuted microphone that sent packets in the previous interval
 * sent none in this one (audio flows even in silence), or the relay forwards them packets and no
 * feedback or receiver report came back for `deafMs`, while earlier some did (a browser receiving only
 * audio reports about every 5 s); "good" otherwise. A sample under
 * `minPackets` says nothing about loss. The room hears `connection-quality` with the participants whose
 * rating changed; a joiner (or a resumed participant) hears everyone not "good".
 *
 * The hot path (`onPacket`) counts with no allocation after a layer's first packet. The clock runs
 * once the first participant joined; 0 as the interval turns the whole machine off.
 */
import type { ConnectionQuality as Quality, ParticipantQuality } from "@sfu-room/protocol";
import type { FeedbackPacket } from "./congestion/send-side-estimator.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";
import type { Room } from "./room.ts";
import { seqDelta } from "./sequence-rewriter.ts";
import type { Subscription } from "./subscription.ts";
import type { Millis } from "./types.ts";

export const QUALITY = {
  /** Loss share at or above which a connection is poor (LiveKit rates 5 % as poor for video). */
  poorLoss: 0.05,
  /** Round trip at or above which it is poor, ms. */
  poorRttMs: 400,
  /** Audio jitter at or above which it is poor, ms. */
  poorJitterMs: 30,
  /** Fewer packets than this in an interval tell nothing about loss. */
  minPackets: 20,
  /** Forwarded to, and not a word back for this long: lost (RTCP of an audio-only receiver comes every 2.5-7.5 s). */
  deafMs: 10_000,
} as const;

/** One received RTP stream (a layer of a publication): its interval's counts and its jitter. */
interface Stream {
  /** Extended highest sequence number; NaN before the first packet. */
  highest: number;
  /** `highest` when the interval started. */
  base: number;
  received: number;
  /**
   * No packet came in the whole previous interval: the gap before the next one was rated then (lost),
   * and is neither loss nor jitter (a sender that paused did not advance its timestamps).
   */
  idle: boolean;
  /** Arrival minus RTP timestamp of the previous packet, in RTP units (RFC 3550 6.4.1). */
  transit: number;
  /** Smoothed jitter, RTP units. */
  jitter: number;
}

/** One participant's interval. */
interface Link {
  readonly participant: Participant;
  /** Their publications' streams, one per layer. */
  readonly streams: Map<Publication, Stream[]>;
  feedbackPackets: number;
  feedbackLost: number;
  /** When feedback or a receiver report last came from them (-Infinity: never). */
  heardAt: Millis;
  rttMs: number | undefined;
  /** Per subscription, the output seq at the interval's start: what the relay forwarded them. */
  readonly forwardedFrom: Map<Subscription, number>;
  /** Their microphone sent packets in the previous interval. */
  audioFlowed: boolean;
  /** What the room was last told ("good" is what nobody was told otherwise). */
  told: ParticipantQuality | undefined;
}

export class ConnectionQuality {
  private readonly links = new Map<Participant, Link>();
  private nextAt = Infinity;
  private readonly intervalMs: Millis;
  private readonly out: OutputQueue;
  private readonly subscriptionsOf: (p: Participant) => readonly Subscription[];

  /** `intervalMs`: 0 turns it off. `subscriptionsOf`: what a participant receives. */
  constructor(intervalMs: Millis, out: OutputQueue, subscriptionsOf: (p: Participant) => readonly Subscription[]) {
    this.intervalMs = intervalMs;
    this.out = out;
    this.subscriptionsOf = subscriptionsOf;
  }

  get deadline(): Millis {
    return this.nextAt;
  }

  /** Someone joined (or resumed): they are rated from now, and hear who is not "good". */
  join(participant: Participant, now: Millis): void {
    if (this.intervalMs <= 0) return;
    if (!this.links.has(participant)) {
      this.links.set(participant, {
        participant, streams: new Map(), feedbackPackets: 0, feedbackLost: 0, heardAt: -Infinity,
        rttMs: undefined, forwardedFrom: new Map(), audioFlowed: false, told: undefined,
      });
    }
    if (this.nextAt === Infinity) this.nextAt = now + this.intervalMs;
    const updates: ParticipantQuality[] = [];
    for (const p of participant.room.participants.values()) {
      const told = this.links.get(p)?.told;
      if (told !== undefined && told.quality !== "good" && !p.grants.hidden) updates.push(told);
    }
    if (updates.length > 0) this.out.signal(participant.id, { type: "connection-quality", updates });
  }

  forget(participant: Participant): void {
    this.links.delete(participant);
    if (this.links.size === 0) this.nextAt = Infinity;
  }

  forgetPublication(pub: Publication): void {
    this.links.get(pub.publisher)?.streams.delete(pub);
  }

  /** One RTP packet of `pub`'s `layer` arrived at `now`. The hot path. */
  onPacket(pub: Publication, layer: number, seq: number, timestamp: number, now: Millis): void {
    const link = this.links.get(pub.publisher);
    if (link === undefined) return;
    let streams = link.streams.get(pub);
    if (streams === undefined) {
      streams = [];
      link.streams.set(pub, streams);
    }
    let s = streams[layer];
    if (s === undefined) {
      s = { highest: NaN, base: NaN, received: 0, idle: false, transit: NaN, jitter: 0 };
      streams[layer] = s;
    }
    s.received++;
    if (Number.isNaN(s.highest)) {
      // Extended from 65536 so that older packets stay positive; the first one is expected too.
      s.highest = 65536 + seq;
      s.base = s.highest - 1;
    } else {
      const delta = seqDelta(seq, s.highest & 0xffff);
      if (delta > 0) s.highest += delta;
      if (s.idle) {
        s.idle = false;
        s.base = s.highest - 1;
        s.transit = NaN;
      }
    }
    if (pub.kind !== "audio") return;
    const transit = (now * pub.clockRate) / 1000 - timestamp;
    if (!Number.isNaN(s.transit)) {
      // Wrapped timestamps: the difference taken modulo 2^32 as a signed value.
      const d = Math.abs(((transit - s.transit + 2 ** 31) % 2 ** 32) - 2 ** 31);
      s.jitter += (d - s.jitter) / 16;
    }
    s.transit = transit;
  }

  /** Their transport-cc feedback on what the relay sent them. */
  onFeedback(participant: Participant, packets: readonly FeedbackPacket[], now: Millis): void {
    const link = this.links.get(participant);
    if (link === undefined) return;
    link.feedbackPackets += packets.length;
    for (const p of packets) if (p.arrivedAt < 0) link.feedbackLost++;
    link.heardAt = now;
  }

  onRoundTrip(participant: Participant, rttMs: Millis, now: Millis): void {
    const link = this.links.get(participant);
    if (link === undefined) return;
    link.rttMs = rttMs;
    link.heardAt = now;
  }

  /** Time passed: at the end of an interval, rate everyone and tell the rooms what changed. */
  onTimeout(now: Millis): void {
    if (now < this.nextAt) return;
    const changed = new Map<Room, ParticipantQuality[]>();
    for (const link of this.links.values()) {
      const rating = this.rate(link, now);
      if ((link.told?.quality ?? "good") === rating.quality) continue;
      link.told = rating;
      const room = link.participant.room;
      if (link.participant.grants.hidden) continue;
      const list = changed.get(room);
      if (list === undefined) changed.set(room, [rating]);
      else list.push(rating);
    }
    for (const [room, updates] of changed) {
      const message = { type: "connection-quality", updates } as const;
      for (const p of room.participants.values()) this.out.signal(p.id, message);
    }
    this.nextAt = now + this.intervalMs;
  }

  /** Closes one participant's interval: its rating, and fresh counts for the next. */
  private rate(link: Link, now: Millis): ParticipantQuality {
    let expected = 0;
    let received = 0;
    let jitterMs: number | undefined;
    let audioFlows = false;
    for (const [pub, streams] of link.streams) {
      for (const s of streams) {
        if (s === undefined) continue;
        if (pub.kind === "audio") {
          jitterMs = Math.max(jitterMs ?? 0, (s.jitter / pub.clockRate) * 1000);
          if (s.received > 0 && !pub.muted) audioFlows = true;
        }
        expected += s.highest - s.base;
        received += s.received;
        s.idle = s.received === 0;
        s.base = s.highest;
        s.received = 0;
      }
    }
    const microphoneStopped = link.audioFlowed && !audioFlows && [...link.streams.keys()].some((pub) => pub.kind === "audio" && !pub.muted);
    link.audioFlowed = audioFlows;
    let forwarded = false;
    const subscriptions = this.subscriptionsOf(link.participant);
    for (const sub of subscriptions) {
      const before = link.forwardedFrom.get(sub);
      if (before !== undefined && before !== sub.rewriter.seq) forwarded = true;
      link.forwardedFrom.set(sub, sub.rewriter.seq);
    }
    for (const sub of link.forwardedFrom.keys()) if (!subscriptions.includes(sub)) link.forwardedFrom.delete(sub);
    const deaf = forwarded && link.heardAt > -Infinity && now - link.heardAt >= QUALITY.deafMs;

    const upLoss = expected >= QUALITY.minPackets ? Math.max(0, (expected - received) / expected) : 0;
    const downLoss = link.feedbackPackets >= QUALITY.minPackets ? link.feedbackLost / link.feedbackPackets : 0;
    const loss = Math.max(upLoss, downLoss);
    link.feedbackPackets = link.feedbackLost = 0;

    const { rttMs } = link;
    const quality: Quality = microphoneStopped || deaf
      ? "lost"
      : loss >= QUALITY.poorLoss || (rttMs ?? 0) >= QUALITY.poorRttMs || (jitterMs ?? 0) >= QUALITY.poorJitterMs
        ? "poor"
        : "good";
    return {
      participantId: link.participant.id,
      quality,
      loss: Math.round(loss * 1000) / 1000,
      ...(rttMs === undefined ? {} : { rttMs: Math.round(rttMs) }),
      ...(jitterMs === undefined ? {} : { jitterMs: Math.round(jitterMs * 10) / 10 }),
    };
  }
}

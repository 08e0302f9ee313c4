/**
 * PublisherRemb: the REMB (receiver estimated maximum bitrate) the relay sends each publisher, for two
 * reasons, the lower of which counts:
 *
 * - **Its uplink** (publishers that do only REMB, no transport-cc: aiortc, some Firefox set-ups): the
 *   relay's receive-side estimate from the packets' abs-send-time and their arrival times, the same
 *   delay-based GCC as toward subscribers (SendSideEstimator: the maths of one-way delay variation is the
 *   same whichever end has which clock), never above 1.5 x what arrives (libwebrtc's rule: the encoder
 *   may ramp up, the estimate does not run away while it sends little). Publishers with transport-cc
 *   estimate their uplink themselves from the relay's feedback.
 * - **Its viewers' downlinks, where no lower layer exists** (video without simulcast): the policy in
 *   `viewerCap` (docs/quality.md, "When no lower layer exists"). Simulcast publishers are never capped
 *   for their viewers: a slow viewer gets a lower layer instead.
 *
 * A value goes out at once when it falls by more than 3 %, otherwise at most once a second (also to
 * refresh it); when the reasons are gone after a cap was sent, MAX_BITRATE lifts it (a browser keeps
 * the last REMB as a limit).
 */
import { HEADROOM } from "../bandwidth-controller.ts";
import type { OutputQueue } from "../output-queue.ts";
import type { Publication } from "../publication.ts";
import type { Subscription } from "../subscription.ts";
import type { Millis, ParticipantId } from "../types.ts";
import { MAX_BITRATE } from "./aimd-rate-control.ts";
import { type FeedbackPacket, SendSideEstimator } from "./send-side-estimator.ts";

/** Where a publisher's receive estimate starts: the start bitrate the relay's answer gives (start-bitrate.ts). */
const START_BITRATE = 1_500_000;
/** The receive estimate stays within this factor of what arrives (plus a little, for a start from nothing). */
const RECEIVED_FACTOR = 1.5;
const RECEIVED_SLACK = 10_000;
/** A fall larger than this share goes out at once. */
const SEND_AT_ONCE_DROP = 0.97;
const REFRESH_MS = 1000;
/** A publisher is never asked for less than this for its viewers: one slow viewer cannot starve a room. */
export const VIEWER_CAP_FLOOR = 300_000;
/** At most this share of a track's viewers is left below its cap (the slowest ones). */
export const VIEWERS_LEFT_BELOW = 0.25;

/**
 * The cap of one video track without lower layers, from its viewers' shares (bits/s each): the slowest
 * viewer's share, except that up to a quarter of the viewers (the slowest) are left below it, and never
 * below VIEWER_CAP_FLOOR. Undefined without viewers.
 */
export function viewerCap(shares: readonly number[]): number | undefined {
  if (shares.length === 0) return undefined;
  const sorted = [...shares].sort((a, b) => a - b);
  return Math.max(VIEWER_CAP_FLOOR, sorted[Math.floor(sorted.length * VIEWERS_LEFT_BELOW)]!);
}

/** What PublisherRemb asks of the rest of the core. */
export interface RembSources {
  /** A subscriber's downlink estimate (bits/s): transport-cc's when it flows, else its REMB; undefined: none yet. */
  estimateOf(subscriberId: ParticipantId): number | undefined;
  /** What the subscriber receives. */
  received(subscriberId: ParticipantId): readonly Subscription[];
  /** Who receives a track. */
  viewersOf(pub: Publication): readonly Subscription[];
  /** The publisher's tracks. */
  tracksOf(publisherId: ParticipantId): readonly Publication[];
}

interface Sent {
  bitsPerSecond: number;
  at: Millis;
}

export class PublisherRemb {
  private readonly uplinks = new Map<ParticipantId, SendSideEstimator>();
  private readonly sent = new Map<ParticipantId, Sent>();
  private readonly sources: RembSources;
  private readonly out: OutputQueue;

  constructor(sources: RembSources, out: OutputQueue) {
    this.sources = sources;
    this.out = out;
  }

  /** A REMB-only publisher's packets since the last call: abs-send-time as `sentAt`, arrival, size. */
  onArrivals(publisherId: ParticipantId, packets: readonly FeedbackPacket[], now: Millis): void {
    let uplink = this.uplinks.get(publisherId);
    if (uplink === undefined) this.uplinks.set(publisherId, (uplink = new SendSideEstimator(START_BITRATE)));
    uplink.onFeedback(packets, now);
    this.update(publisherId, now);
  }

  /**
   * A subscriber's estimate changed: the publishers of the videos it receives without lower layers may
   * get a new cap. (Viewers who leave or stop watching drop out at the next estimate of any viewer of
   * the track, each sending one at least every second while it watches; with no viewer left, a stale cap
   * limits a video nobody receives, and the next viewer's first estimate replaces it.)
   */
  onViewerEstimate(subscriberId: ParticipantId, now: Millis): void {
    for (const sub of this.sources.received(subscriberId)) {
      if (isSingleLayerVideo(sub.publication)) this.update(sub.publication.publisher.id, now);
    }
  }

  /** The publisher left. */
  forget(publisherId: ParticipantId): void {
    this.uplinks.delete(publisherId);
    this.sent.delete(publisherId);
  }

  private update(publisherId: ParticipantId, now: Millis): void {
    const wanted = Math.min(this.uplinkLimit(publisherId), this.viewersLimit(publisherId));
    const last = this.sent.get(publisherId);
    if (wanted === Infinity) {
      if (last !== undefined && last.bitsPerSecond < MAX_BITRATE) this.send(publisherId, MAX_BITRATE, now);
      return;
    }
    const value = Math.round(Math.min(wanted, MAX_BITRATE));
    if (last === undefined || value < last.bitsPerSecond * SEND_AT_ONCE_DROP || now - last.at >= REFRESH_MS) this.send(publisherId, value, now);
  }

  private send(publisherId: ParticipantId, bitsPerSecond: number, now: Millis): void {
    this.sent.set(publisherId, { bitsPerSecond, at: now });
    this.out.push({ type: "send-remb", publisherId, bitsPerSecond });
  }

  private uplinkLimit(publisherId: ParticipantId): number {
    const uplink = this.uplinks.get(publisherId);
    if (uplink === undefined) return Infinity;
    const received = uplink.receivedBitrate;
    return received === undefined ? uplink.bitrate : Math.min(uplink.bitrate, RECEIVED_FACTOR * received + RECEIVED_SLACK);
  }

  /**
   * The sum of the caps of the publisher's videos, when every one of them lacks lower layers and has
   * viewers (a REMB covers the whole connection, so one uncapped video leaves nothing to cap).
   */
  private viewersLimit(publisherId: ParticipantId): number {
    const videos = this.sources.tracksOf(publisherId).filter((p) => p.kind === "video");
    if (videos.length === 0) return Infinity;
    let total = 0;
    for (const pub of videos) {
      if (!isSingleLayerVideo(pub)) return Infinity;
      const shares: number[] = [];
      for (const sub of this.sources.viewersOf(pub)) {
        const share = this.shareOf(sub);
        if (share !== undefined) shares.push(share);
      }
      const cap = viewerCap(shares);
      if (cap === undefined) return Infinity;
      total += cap;
    }
    return total;
  }

  /** A viewer's share of its downlink for one video: its video budget split equally among the videos it watches. */
  private shareOf(sub: Subscription): number | undefined {
    if (!sub.ready || sub.targetLayer < 0) return undefined; // not watching: nothing to fit
    const estimate = this.sources.estimateOf(sub.subscriber.id);
    if (estimate === undefined) return undefined;
    let watched = 0;
    for (const s of this.sources.received(sub.subscriber.id)) if (s.publication.kind === "video" && s.ready && s.targetLayer >= 0) watched++;
    return (estimate * HEADROOM) / watched;
  }
}

function isSingleLayerVideo(pub: Publication): boolean {
  return pub.kind === "video" && pub.layerCount === 1;
}

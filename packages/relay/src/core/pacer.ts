/**
 * Pacing: what leaves toward each subscriber connection is spread out at a pacing rate, PACING_FACTOR
 * times the subscriber's downlink estimate (as GCC, libwebrtc and str0m pace), so a burst (a keyframe,
 * a batch of retransmissions) waits at the relay instead of overflowing a small link's queue at once.
 *
 * One `Pacer` per subscriber connection, a budget and a queue:
 * - The budget is a debt in bytes that drains at the pacing rate; a packet may leave while the debt is
 *   at most BURST_MS of the rate (one packet at least), and leaving adds its size. So the frames of a
 *   steady stream leave as they arrive, and only a burst above the rate waits.
 * - Audio never waits: it leaves at once and is charged, so video behind it waits instead (audio first,
 *   never starved by video). Audio is small; a room's worth of it fits any link video fits.
 * - Retransmissions wait ahead of video (a lost packet is older than anything queued and holds up its
 *   frame); their amount is already bounded by loss-recovery's budget, so here they only take turns.
 * - The queue drains within MAX_QUEUE_MS at worst: while it holds more than that at the pacing rate,
 *   it is paced at the rate that empties it in that time (libwebrtc's rule). An estimate that is too
 *   low (a loaded machine's delay looks like a queue) then delays video, never starves it. Beyond
 *   MAX_QUEUED packets the oldest video is dropped, then the oldest retransmission (a bound on memory,
 *   and held packets must still be in the shell's store); audio is never queued.
 * - A subscriber without an estimate yet is not paced: there is nothing to pace to.
 *
 * `Pacing` holds the core's pacers and turns what they release into outputs: a packet that leaves as
 * it arrives is the `forward` of the current `rtp` input (the hot path, as without pacing); one that
 * waited becomes a `paced-forward` naming the packet the shell keeps (as a retransmission does), or
 * the `retransmit` it was.
 */
import { MIN_BITRATE } from "./congestion/aimd-rate-control.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { PacedForwardOutput, RetransmitOutput } from "./outputs.ts";
import { historySlot } from "./retransmission-history.ts";
import type { Subscription } from "./subscription.ts";
import type { Millis, ParticipantId } from "./types.ts";

/** Pacing rate over the estimate: room for the estimate's error and for catching up after a burst. */
export const PACING_FACTOR = 2.5;
/** What may leave at once beyond the rate: this much time's worth of it. */
export const BURST_MS = 5;
/** The longest a packet should wait: a fuller queue is paced faster, to empty within this. */
export const MAX_QUEUE_MS = 500;
/** Packets held at most (the shell keeps HISTORY_PER_LAYER = 512 per layer: these are still there). */
export const MAX_QUEUED = 256;

/** A packet held back, and its size for the budget. */
interface Held {
  out: PacedForwardOutput | RetransmitOutput;
  size: number;
}

export class Pacer {
  /** Bytes per ms; Infinity: not paced. */
  private rate = Infinity;
  /** Bytes sent beyond what the rate has drained, as of `last`. */
  private debt = 0;
  private last: Millis = -Infinity;
  private readonly retransmits: Held[] = [];
  private readonly video: Held[] = [];
  private queuedBytes = 0;
  /** Video packets (and retransmissions) dropped from a full queue (MAX_QUEUED), since it was made. */
  dropped = 0;

  /** A new downlink estimate (bits/s; a claim of almost nothing counts as MIN_BITRATE): the pacing rate from now on. */
  setEstimate(bitsPerSecond: number, now: Millis): void {
    this.drainTo(now);
    this.rate = (Math.max(bitsPerSecond, MIN_BITRATE) * PACING_FACTOR) / 8000;
  }

  /** Audio: it leaves now, whatever the budget; what follows it pays. */
  charge(size: number, now: Millis): void {
    this.drainTo(now);
    this.debt += size;
  }

  /** May a video packet (`retransmit`: a resend) leave now? If so it is charged; if not, `hold` it. */
  mayLeave(size: number, now: Millis, retransmit: boolean): boolean {
    if (this.retransmits.length > 0 || (!retransmit && this.video.length > 0)) return false; // its turn comes after those
    this.drainTo(now);
    if (this.overBurst) return false;
    this.debt += size;
    return true;
  }

  /** Queues a packet that may not leave yet; the oldest video goes when the queue is full. */
  hold(out: PacedForwardOutput | RetransmitOutput, size: number): void {
    (out.type === "retransmit" ? this.retransmits : this.video).push({ out, size });
    this.queuedBytes += size;
    while (this.retransmits.length + this.video.length > MAX_QUEUED) {
      const oldest = this.video.shift() ?? this.retransmits.shift()!;
      this.queuedBytes -= oldest.size;
      this.dropped++;
    }
  }

  /** The next held packet whose turn has come by `now` (charged), or undefined. */
  release(now: Millis): PacedForwardOutput | RetransmitOutput | undefined {
    const queue = this.retransmits.length > 0 ? this.retransmits : this.video;
    const next = queue[0];
    if (next === undefined) return undefined;
    this.drainTo(now);
    if (this.overBurst) return undefined;
    queue.shift();
    this.queuedBytes -= next.size;
    this.debt += next.size;
    return next.out;
  }

  /** When the next held packet may leave (Infinity: none held). */
  get deadline(): Millis {
    if (this.retransmits.length === 0 && this.video.length === 0) return Infinity;
    return this.last + (this.debt - this.burst) / this.pace;
  }

  get holding(): boolean {
    return this.retransmits.length > 0 || this.video.length > 0;
  }

  /** Bytes per ms now: the pacing rate, or faster while the queue would take longer than MAX_QUEUE_MS. */
  private get pace(): number {
    return Math.max(this.rate, this.queuedBytes / MAX_QUEUE_MS);
  }

  private get burst(): number {
    return this.rate * BURST_MS;
  }

  /** Must the next packet wait? (A byte of slack: at `deadline` the drained debt may be over by a rounding error.) */
  private get overBurst(): boolean {
    return this.debt > this.burst + 1;
  }

  private drainTo(now: Millis): void {
    if (now > this.last) {
      this.debt = Math.max(0, this.debt - (now - this.last) * this.pace);
      this.last = now;
    }
  }
}

/** The core's pacers, one per subscriber connection, and the outputs of what they let go. */
export class Pacing {
  private readonly pacers = new Map<ParticipantId, Pacer>();
  /** Pacers holding packets: what timeouts are for. */
  private readonly busy = new Set<Pacer>();
  private readonly out: OutputQueue;
  /** Dropped by pacers since gone, for stats(). */
  private droppedBefore = 0;

  constructor(out: OutputQueue) {
    this.out = out;
  }

  /**
   * The hot path: a packet of `layer` (publisher's `sourceSeq`) goes to `sub` with these rewritten
   * values: as a `forward` of the current packet now, or later as a `paced-forward`.
   */
  forward(sub: Subscription, layer: number, sourceSeq: number, size: number, now: Millis, seq: number, timestamp: number, marker: boolean, pictureId: number, tl0PicIdx: number): void {
    const subscriberId = sub.subscriber.id;
    const pacer = this.pacers.get(subscriberId);
    if (pacer !== undefined) {
      if (pacer.holding) this.releaseFrom(pacer, now); // what is due goes before what arrives
      if (sub.publication.kind === "audio") {
        pacer.charge(size, now);
      } else if (!pacer.mayLeave(size, now, false)) {
        const trackId = sub.publication.id;
        const slot = historySlot(layer, sourceSeq);
        pacer.hold({ type: "paced-forward", subscriptionId: sub.id, subscriberId, trackId, slot, sourceSeq, seq, timestamp, marker, pictureId, tl0PicIdx }, size);
        this.busy.add(pacer);
        return;
      }
    }
    this.out.pushForward(sub.id, subscriberId, seq, timestamp, marker, pictureId, tl0PicIdx);
  }

  /** A resend loss-recovery allowed: now, or after what waits ahead of it. */
  retransmit(out: RetransmitOutput, size: number, now: Millis): void {
    const pacer = this.pacers.get(out.subscriberId);
    if (pacer !== undefined) {
      if (pacer.holding) this.releaseFrom(pacer, now);
      if (!pacer.mayLeave(size, now, true)) {
        pacer.hold(out, size);
        this.busy.add(pacer);
        return;
      }
    }
    this.out.push(out);
  }

  /** A subscriber's downlink estimate (bits/s): their pacing rate follows it. */
  onEstimate(subscriberId: ParticipantId, bitsPerSecond: number, now: Millis): void {
    let pacer = this.pacers.get(subscriberId);
    if (pacer === undefined) this.pacers.set(subscriberId, (pacer = new Pacer()));
    pacer.setEstimate(bitsPerSecond, now);
  }

  /** Does the subscriber's pacer hold packets (its link is busy)? */
  isHolding(subscriberId: ParticipantId): boolean {
    return this.pacers.get(subscriberId)?.holding ?? false;
  }

  /** Time has passed: what is due leaves. */
  onTimeout(now: Millis): void {
    for (const pacer of this.busy) this.releaseFrom(pacer, now);
  }

  /** The earliest time a held packet may leave (Infinity: none held). */
  get deadline(): Millis {
    let at = Infinity;
    for (const pacer of this.busy) at = Math.min(at, pacer.deadline);
    return at;
  }

  /** Packets dropped from full queues, since the core started. */
  get dropped(): number {
    let n = this.droppedBefore;
    for (const pacer of this.pacers.values()) n += pacer.dropped;
    return n;
  }

  /** The subscriber left: what their pacer held goes with their connection. */
  forget(subscriberId: ParticipantId): void {
    const pacer = this.pacers.get(subscriberId);
    if (pacer === undefined) return;
    this.droppedBefore += pacer.dropped;
    this.busy.delete(pacer);
    this.pacers.delete(subscriberId);
  }

  private releaseFrom(pacer: Pacer, now: Millis): void {
    for (let out = pacer.release(now); out !== undefined; out = pacer.release(now)) this.out.push(out);
    if (!pacer.holding) this.busy.delete(pacer);
  }
}

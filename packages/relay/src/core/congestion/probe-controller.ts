/**
 * ProbeController: when to probe one subscriber's downlink, and what a probe measured (libwebrtc's
 * ProbeController and ProbeBitrateEstimator, reduced to what a relay needs).
 *
 * Why: the send-side estimate only learns from what is sent. While a subscriber's wish is held below
 * its cost (a layer capped), the relay sends the lower layer, the estimate grows 8 % a second at best
 * (additively near the capacity it remembers), and a link that was restored is found 20-40 s late. A
 * probe sends more than the media for a short while and reads the link's answer from the transport-cc
 * feedback of everything sent meanwhile.
 *
 * - Start (`start`): only while a wish is limited, not within DROP_QUIET_MS of an estimate drop (the link
 *   is congested), and not before `nextAt`. The probe aims at the wish's cost, at least PROBE_MIN and at
 *   most PROBE_MAX times the estimate, for PROBE_MS: on a link that is full the excess queues for about
 *   (PROBE_MAX - 1) x PROBE_MS, well inside a small link's queue.
 * - Judge (`onFeedback`): the packets sent in the probe's window, once feedback covers a packet sent after
 *   it (or RESULT_TIMEOUT_MS after it ended: fails). The train's send rate, and the link's rate from how
 *   the delay grew along it (`measure`); a link that carried less than SATURATED x what was sent is
 *   full, and what it carried (x 0.95) is the measure; else the rate sent. A measure above RAISE x the estimate succeeds: the caller raises the estimate to it; when
 *   the link carried all of it the next probe may start at once (a restored link is climbed in a few
 *   steps), when it was full its capacity is found and the next waits as after a failure. Otherwise, or
 *   with more than MAX_LOSS of the train lost, it fails: the next after RETRY_MS, doubling up to
 *   MAX_RETRY_MS.
 *
 * Pure: time, the estimate and the feedback come in; the probe's bytes are sent by the caller (probing.ts).
 */
import type { Millis } from "../types.ts";
import type { FeedbackPacket } from "./send-side-estimator.ts";

export const PROBE_MS = 150;
const PROBE_MIN = 1.2;
const PROBE_MAX = 1.5;
/** How much above the wish's cost a probe aims (room for the estimate's headroom). */
const PROBE_OVER_WISH = 1.1;
const DROP_QUIET_MS = 2000;
const RESULT_TIMEOUT_MS = 1000;
const RETRY_MS = 2000;
const MAX_RETRY_MS = 8000;
const SATURATED = 0.9;
const RAISE = 1.1;
const MAX_LOSS = 0.1;
/** A send span shorter than this says nothing about a rate. */
const MIN_SPAN_MS = 20;
/** A probe sends at least this share of its rate as padding, whatever the media's rate. */
const MIN_PADDING_SHARE = 0.2;

/** A probe in progress: its window and the rate of extra bytes to send in it. */
export interface Probe {
  start: Millis;
  end: Millis;
  /** The rate the probe aims at (media and padding together, bits/s). */
  targetBps: number;
  /** The padding's rate (bits/s): the target less what the media already sends. */
  paddingBps: number;
  /** The estimate when it started: what it is judged against. */
  estimateBps: number;
}

/**
 * What a probe's feedback said: the rate it measured, whether the estimate is raised to it, and the
 * least the estimate should be after it: a probe that filled the link queued, and the delay-based
 * estimate may have dropped for that queue alone, below what the probe measured the link carrying
 * (and below where it stood): that drop is undone, up to the lower of the two (0: nothing to undo).
 */
export interface ProbeResult {
  succeeded: boolean;
  measuredBps: number;
  floorBps: number;
}

export class ProbeController {
  private probe: Probe | undefined;
  /** The judged window's packets, as the feedback reported them. */
  private train: FeedbackPacket[] = [];
  private nextAt: Millis = -Infinity;
  private retryMs = RETRY_MS;
  private lastEstimate = 0;
  private droppedAt: Millis = -Infinity;

  /** The probe being sent or judged, if any. */
  get current(): Probe | undefined {
    return this.probe;
  }

  /** When the current probe fails for want of feedback (Infinity: none). */
  get deadline(): Millis {
    return this.probe === undefined ? Infinity : this.probe.end + RESULT_TIMEOUT_MS;
  }

  /** Every new estimate: a drop (the link congested) holds probes off for DROP_QUIET_MS. */
  onEstimate(bitsPerSecond: number, now: Millis): void {
    if (bitsPerSecond < 0.95 * this.lastEstimate) this.droppedAt = now;
    this.lastEstimate = bitsPerSecond;
  }

  /**
   * Starts a probe if one is due: `wishBps` is what the limited wishes would cost (undefined: nothing is
   * limited), `mediaBps` what the media sends now. Returns the probe started, or undefined.
   */
  start(now: Millis, estimateBps: number, wishBps: number | undefined, mediaBps: number): Probe | undefined {
    if (wishBps === undefined || wishBps <= estimateBps || this.probe !== undefined || now < this.nextAt || now - this.droppedAt < DROP_QUIET_MS) return undefined;
    const targetBps = Math.min(PROBE_MAX * estimateBps, Math.max(PROBE_MIN * estimateBps, PROBE_OVER_WISH * wishBps));
    const paddingBps = Math.max(targetBps - mediaBps, MIN_PADDING_SHARE * targetBps);
    this.probe = { start: now, end: now + PROBE_MS, targetBps, paddingBps, estimateBps };
    this.train = [];
    return this.probe;
  }

  /**
   * A feedback's packets (send order) with the estimate before it: the result once the probe's window is
   * covered, else undefined.
   */
  onFeedback(packets: readonly FeedbackPacket[], now: Millis): ProbeResult | undefined {
    const probe = this.probe;
    if (probe === undefined) return undefined;
    let covered = false;
    for (const p of packets) {
      if (p.sentAt > probe.end) covered = true;
      else if (p.sentAt >= probe.start) this.train.push(p);
    }
    return covered ? this.judge(probe, now) : undefined;
  }

  /** Time passed: a probe whose feedback never came is judged on what came. */
  onTimeout(now: Millis): ProbeResult | undefined {
    return this.probe !== undefined && now >= this.deadline ? this.judge(this.probe, now) : undefined;
  }

  private judge(probe: Probe, now: Millis): ProbeResult {
    const { measuredBps, saturated } = measure(this.train);
    const lossless = this.train.filter((p) => p.arrivedAt < 0).length <= MAX_LOSS * this.train.length;
    const succeeded = measuredBps > RAISE * probe.estimateBps && lossless;
    const floorBps = lossless ? Math.min(measuredBps, probe.estimateBps) : 0;
    this.probe = undefined;
    this.train = [];
    if (succeeded && !saturated) {
      this.nextAt = now;
      this.retryMs = RETRY_MS;
    } else {
      this.nextAt = now + this.retryMs;
      this.retryMs = Math.min(2 * this.retryMs, MAX_RETRY_MS);
    }
    return { succeeded, measuredBps, floorBps };
  }
}

/**
 * What a train of packets says the link carries (bits/s; 0: too short to say), and whether it was full.
 * The send rate is the bytes sent over the send span (without the last packet). The link's rate comes
 * from how the one-way delay grew along the train: sent at S into a link of rate R < S, each packet
 * waits longer than the one before, the delay's slope against send time is S / R - 1; so R = S / (1 +
 * slope). A least-squares slope over every arrived packet, not the first and last arrivals: on a link
 * with jitter, those two alone would read a spread of arrivals as a queue (±30 ms over a 150 ms train
 * looked like a link at 70 % of the rate sent). A link that carried less than SATURATED of S was full.
 */
function measure(train: readonly FeedbackPacket[]): { measuredBps: number; saturated: boolean } {
  const arrived = train.filter((p) => p.arrivedAt >= 0);
  if (arrived.length < 3) return { measuredBps: 0, saturated: false };
  const sendSpan = train.at(-1)!.sentAt - train[0]!.sentAt;
  if (sendSpan < MIN_SPAN_MS) return { measuredBps: 0, saturated: false };
  let sent = 0;
  for (const p of train) sent += p.size;
  const sendBps = ((sent - train.at(-1)!.size) * 8000) / sendSpan;
  let mx = 0;
  let my = 0;
  for (const p of arrived) {
    mx += p.sentAt;
    my += p.arrivedAt - p.sentAt;
  }
  mx /= arrived.length;
  my /= arrived.length;
  let sxy = 0;
  let sxx = 0;
  for (const p of arrived) {
    const dx = p.sentAt - mx;
    sxy += dx * (p.arrivedAt - p.sentAt - my);
    sxx += dx * dx;
  }
  const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  const receiveBps = sendBps / (1 + slope);
  const saturated = receiveBps < SATURATED * sendBps;
  return { measuredBps: saturated ? 0.95 * receiveBps : receiveBps, saturated };
}

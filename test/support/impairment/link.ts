/**
 * One direction of an impaired access link, netem's model without I/O: random loss, then a link of
 * `rateBps` with a drop-tail queue of `queueMs` worth of bits at that rate, then a fixed delay with
 * uniform jitter (each packet drawn on its own, so jitter may reorder, as netem's does). `admit` is told
 * the time and answers when the packet comes out, or undefined when the link drops it.
 *
 * The rate is a serializing link rather than a bucket with credit: a packet leaves `size / rate` after
 * the one before it has, so a burst (a keyframe) queues instead of passing at once, as on a DSL or a
 * cellular bottleneck; the queue holds what has been admitted but has not left yet.
 */
export interface LinkConditions {
  /** Capacity in bits per second; 0 or absent: unlimited. */
  rateBps?: number;
  /** Queue size in milliseconds at the rate (default 80 ms: a typical access router's buffer). */
  queueMs?: number;
  /** Random loss as a fraction, 0-1. */
  loss?: number;
  /** Fixed one-way delay added to every packet (ms). */
  delayMs?: number;
  /** Each packet's delay varies by up to this much either way (ms), uniformly. */
  jitterMs?: number;
}

export interface LinkCounters {
  packets: number;
  bytes: number;
  /** Admitted: they come out after their delay. */
  passedPackets: number;
  passedBytes: number;
  lost: number;
  /** Dropped because the queue was full. */
  queueDrops: number;
}

const DEFAULT_QUEUE_MS = 80;
/** The queue holds at least this much whatever the rate, so a slow link still takes a full-size packet. */
const MIN_QUEUE_BITS = 2 * 1500 * 8;

export class Link {
  #conditions: LinkConditions = {};
  /** When the last admitted packet has been fully sent on the link (ms, the caller's clock). */
  #busyUntil = 0;
  readonly #random: () => number;
  readonly counters: LinkCounters = { packets: 0, bytes: 0, passedPackets: 0, passedBytes: 0, lost: 0, queueDrops: 0 };

  constructor(conditions: LinkConditions = {}, random: () => number = Math.random) {
    this.#random = random;
    this.set(conditions);
  }

  get conditions(): LinkConditions {
    return this.#conditions;
  }

  /** New conditions from now on; packets already queued keep the times they were given. */
  set(conditions: LinkConditions): void {
    const { rateBps = 0, loss = 0, delayMs = 0, jitterMs = 0 } = conditions;
    if (!(rateBps >= 0) || !(loss >= 0 && loss <= 1) || !(delayMs >= 0) || !(jitterMs >= 0) || !((conditions.queueMs ?? DEFAULT_QUEUE_MS) > 0)) {
      throw new RangeError(`impossible link conditions: ${JSON.stringify(conditions)}`);
    }
    this.#conditions = { ...conditions };
  }

  /** True when every packet passes at once, untouched (the forwarder then skips the timer). */
  get clean(): boolean {
    const c = this.#conditions;
    return !c.rateBps && !c.loss && !c.delayMs && !c.jitterMs;
  }

  /** When a packet of `bytes` offered at `now` (ms) comes out of the link, or undefined if it is dropped. */
  admit(bytes: number, now: number): number | undefined {
    const { rateBps = 0, queueMs = DEFAULT_QUEUE_MS, loss = 0, delayMs = 0, jitterMs = 0 } = this.#conditions;
    this.counters.packets++;
    this.counters.bytes += bytes;
    if (loss > 0 && this.#random() < loss) {
      this.counters.lost++;
      return undefined;
    }
    let sent = now;
    if (rateBps > 0) {
      const start = Math.max(now, this.#busyUntil);
      const queuedBits = ((start - now) * rateBps) / 1000;
      if (queuedBits + bytes * 8 > Math.max(MIN_QUEUE_BITS, (rateBps * queueMs) / 1000)) {
        this.counters.queueDrops++;
        return undefined;
      }
      sent = this.#busyUntil = start + (bytes * 8 * 1000) / rateBps;
    }
    this.counters.passedPackets++;
    this.counters.passedBytes += bytes;
    const jitter = jitterMs > 0 ? (this.#random() * 2 - 1) * jitterMs : 0;
    return sent + Math.max(0, delayMs + jitter);
  }
}

/**
 * ArrivalStamper: when each of a publisher's packets arrived, as well as a relay on a JavaScript event
 * loop can tell, for the transport-cc feedback the publisher's estimator reads its uplink from.
 *
 * Node gives no kernel receive timestamps: a datagram is stamped when the event loop reads it. While the
 * loop is busy (the relay's own work, or its process waiting for a CPU on a loaded machine), datagrams
 * wait in the socket's buffer and are read together afterwards, all stamped "now". In the feedback that
 * is a queue building on the publisher's uplink (the first packet of the batch looks tens of ms late),
 * and Chromium's delay-based estimator, seeing it again and again, drops simulcast layers for congestion
 * that is not on the path at all.
 *
 * So each packet's arrival is bounded by what the loop knows: a packet read right after the loop waited
 * for input (its idle time grew) woke it, and arrived when it was read. A packet read with no wait since
 * the previous read was queued: it arrived after that previous read (or the wait) and before its own.
 * The packets of one poll phase (until setImmediate) are one batch: its first is either such a woken
 * packet or queued since the last read before the batch; the queued ones are spread evenly from there
 * to the batch's last read, never later than their own read and never out of order. A steady sender's
 * packets read in a burst after a stall get back their steady spacing; packets read as they come keep
 * their read times, so a real queue on the path still shows. MAX_SPREAD_MS bounds how far a packet is
 * moved (a loop that never waits, on a saturated relay, gives no better bound than the previous read).
 */
import { performance } from "node:perf_hooks";

/** The event loop as the stamper reads it (ms on one clock): now, and the total time spent waiting. */
export interface EventLoopClock {
  now(): number;
  idle(): number;
}

/** The longest span a batch is spread over (ms). */
const MAX_SPREAD_MS = 100;
/** Idle time below this between two reads is not a wait for input (a poll with a zero timeout). */
const WAIT_MS = 0.5;

const nodeLoop: EventLoopClock = {
  now: () => performance.now(),
  // libuv counts the time its poll phase waited for I/O, updated before the I/O callbacks run.
  idle: () => performance.eventLoopUtilization().idle,
};

/**
 * The arrival times of a batch of packets read at `reads` (ms, in order): `floor` is when the first can
 * have arrived at the earliest; `woken` says the first was read right after a wait (so at `floor`).
 */
export function spreadBatch(floor: number, woken: boolean, reads: readonly number[]): number[] {
  const n = reads.length;
  const last = reads[n - 1]!;
  const from = Math.max(floor, last - MAX_SPREAD_MS);
  const first = woken ? 0 : 1;
  const steps = n - 1 + first;
  const stamps: number[] = [];
  let previous = -Infinity;
  for (let i = 0; i < n; i++) {
    const even = steps === 0 ? last : from + ((i + first) * (last - from)) / steps;
    previous = Math.max(previous, Math.min(reads[i]!, even));
    stamps.push(previous);
  }
  return stamps;
}

export class ArrivalStamper {
  private readonly loop: EventLoopClock;
  private readonly defer: (close: () => void) => void;
  private readonly onStamped: (seq: number, arrivalMs: number) => void;
  private seqs: number[] = [];
  private reads: number[] = [];
  private floor = 0;
  private woken = false;
  private lastRead: number | undefined;
  private lastIdle = 0;

  constructor(onStamped: (seq: number, arrivalMs: number) => void, loop: EventLoopClock = nodeLoop, defer: (close: () => void) => void = (close) => setImmediate(close)) {
    this.onStamped = onStamped;
    this.loop = loop;
    this.defer = defer;
  }

  /** A packet with transport-wide sequence number `seq` was just read. */
  arrived(seq: number): void {
    const now = this.loop.now();
    const idle = this.loop.idle();
    const waited = this.lastRead === undefined || idle - this.lastIdle >= WAIT_MS;
    if (waited && this.seqs.length > 0) this.close();
    if (this.seqs.length === 0) {
      this.floor = waited ? now : this.lastRead!;
      this.woken = waited;
      this.defer(() => this.close());
    }
    this.seqs.push(seq);
    this.reads.push(now);
    this.lastRead = now;
    this.lastIdle = idle;
  }

  private close(): void {
    if (this.seqs.length === 0) return;
    const stamps = spreadBatch(this.floor, this.woken, this.reads);
    const seqs = this.seqs;
    this.seqs = [];
    this.reads = [];
    seqs.forEach((seq, i) => this.onStamped(seq, stamps[i]!));
  }
}

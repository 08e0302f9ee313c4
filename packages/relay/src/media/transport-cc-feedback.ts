/**
 * Transport-wide congestion control feedback (RTCP transport-cc, draft-holmer-rmcat-transport-wide-cc-
 * extensions-01, section 3.1) that the relay sends each publisher: for every transport-wide sequence
 * number since the last feedback, received or not, and when it arrived. The publisher's own send-side
 * estimator (Chromium's and Firefox's GCC) reads the one-way delay trend and the loss from it and finds
 * the uplink's capacity.
 *
 * Pure: arrival times come in as arguments, the packet leaves as bytes. werift has a generator of its
 * own (ReceiverTWCC), which the relay does not run: it rounds the reference time without rounding the
 * first delta, so every feedback shifts its arrival times by up to 64 ms (a delay "trend" that keeps the
 * publisher's estimate at a few hundred kbit/s), it reports missing packets as received, and it sorts
 * sequence numbers without wrap-around.
 */

/** Status symbols (section 3.1.1); 0 is "not received". */
const SMALL_DELTA = 1;
const LARGE_DELTA = 2;

/** Reference time unit (64 ms) and delta unit (250 µs), in µs. */
const REFERENCE_UNIT_US = 64_000;
const DELTA_UNIT_US = 250;
/** A run-length chunk counts up to 13 bits. */
const MAX_RUN = 0x1fff;
/** The most sequence numbers one feedback covers; older unreported ones are given up. */
const MAX_SPAN = 4096;

export class TransportCcFeedback {
  /** Unwrapped sequence number -> arrival time (µs), for packets not reported yet. */
  private readonly arrivals = new Map<number, number>();
  /** The first unwrapped sequence number the next feedback reports; undefined before any packet. */
  private nextToReport: number | undefined;
  /** The highest unwrapped sequence number received. */
  private highest = -1;
  /** The 8-bit feedback packet count. */
  private count = 0;

  /** A packet with transport-wide sequence number `seq` (16 bits) arrived at `arrivalMs`. */
  record(seq: number, arrivalMs: number): void {
    const unwrapped = this.nextToReport === undefined ? seq : this.highest + (((seq - this.highest + 0x8000) & 0xffff) - 0x8000);
    if (this.nextToReport === undefined) this.nextToReport = unwrapped;
    if (unwrapped < this.nextToReport) return; // already reported as lost: too late to count
    this.arrivals.set(unwrapped, Math.round(arrivalMs * 1000));
    if (unwrapped > this.highest) this.highest = unwrapped;
    if (this.highest - this.nextToReport >= MAX_SPAN) this.skipTo(this.highest - MAX_SPAN + 1);
  }

  /**
   * The RTCP packet reporting everything since the last call (then forgotten), or undefined when nothing
   * arrived. `senderSsrc` is the relay's, `mediaSsrc` one of the publisher's.
   */
  take(senderSsrc: number, mediaSsrc: number): Buffer | undefined {
    const base = this.nextToReport;
    if (base === undefined || this.arrivals.size === 0) return undefined;
    const statusCount = this.highest - base + 1;
    const statuses = new Uint8Array(statusCount);
    const deltas: number[] = [];
    let referenceTicks = 0;
    let previousUs = 0;
    for (let i = 0; i < statusCount; i++) {
      const arrivalUs = this.arrivals.get(base + i);
      if (arrivalUs === undefined) continue;
      if (deltas.length === 0) {
        referenceTicks = Math.floor(arrivalUs / REFERENCE_UNIT_US);
        previousUs = referenceTicks * REFERENCE_UNIT_US;
      }
      const ticks = Math.max(-0x8000, Math.min(0x7fff, Math.round((arrivalUs - previousUs) / DELTA_UNIT_US)));
      // Deltas chain from the reported (rounded) time, so rounding never accumulates into a drift.
      previousUs += ticks * DELTA_UNIT_US;
      statuses[i] = isSmall(ticks) ? SMALL_DELTA : LARGE_DELTA;
      deltas.push(ticks);
    }
    this.skipTo(this.highest + 1);

    const chunks: number[] = [];
    for (let i = 0; i < statusCount; ) {
      let run = 1;
      while (i + run < statusCount && run < MAX_RUN && statuses[i + run] === statuses[i]) run++;
      chunks.push((statuses[i]! << 13) | run); // run-length chunk: T=0, 2-bit symbol, 13-bit length
      i += run;
    }
    const deltaBytes = deltas.reduce((n, ticks) => n + (isSmall(ticks) ? 1 : 2), 0);
    const unpadded = 20 + chunks.length * 2 + deltaBytes;
    const padding = (4 - (unpadded % 4)) % 4;
    const out = Buffer.alloc(unpadded + padding);
    out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | 15; // V=2, P, FMT=15
    out[1] = 205; // RTPFB
    out.writeUInt16BE(out.length / 4 - 1, 2);
    out.writeUInt32BE(senderSsrc >>> 0, 4);
    out.writeUInt32BE(mediaSsrc >>> 0, 8);
    out.writeUInt16BE(base & 0xffff, 12);
    out.writeUInt16BE(statusCount, 14);
    out.writeUIntBE(referenceTicks & 0xffffff, 16, 3);
    out[19] = this.count;
    this.count = (this.count + 1) & 0xff;
    let at = 20;
    for (const chunk of chunks) at = out.writeUInt16BE(chunk, at);
    for (const ticks of deltas) at = isSmall(ticks) ? out.writeUInt8(ticks, at) : out.writeInt16BE(ticks, at);
    if (padding > 0) out[out.length - 1] = padding;
    return out;
  }

  /** Forgets every sequence number below `seq` (reported, or given up). */
  private skipTo(seq: number): void {
    for (const s of this.arrivals.keys()) if (s < seq) this.arrivals.delete(s);
    this.nextToReport = seq;
  }
}

function isSmall(ticks: number): boolean {
  return ticks >= 0 && ticks <= 0xff;
}

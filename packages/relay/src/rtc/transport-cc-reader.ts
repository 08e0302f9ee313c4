/**
 * Reads a subscriber's transport-cc feedback (as werift parsed it) into per-packet facts: each
 * transport-wide sequence number it covers, and when the packet arrived or that it did not.
 *
 * werift's own `packetResults` cannot be used: it ignores status-vector chunks (what Chromium sends
 * most) and restarts every run-length chunk at the base sequence number.
 */
import { RunLengthChunk, StatusVectorChunk, type TransportWideCC } from "werift";

/** Symbols 1 (small delta) and 2 (large delta) mean received; 0 not received. */
const RECEIVED_SMALL = 1;
const RECEIVED_LARGE = 2;

/**
 * Calls `each(seq, arrivalMs)` for every packet the feedback covers, in sequence order: `arrivalMs` in
 * the receiver's clock (only differences mean anything), or -1 when the packet was not received.
 */
export function readTransportCc(feedback: TransportWideCC, each: (seq: number, arrivalMs: number) => void): void {
  let seq = feedback.baseSequenceNumber;
  let left = feedback.packetStatusCount;
  let delta = 0;
  let arrivalUs = feedback.referenceTime * 64_000;
  const report = (symbol: number) => {
    if (left <= 0) return;
    left--;
    if (symbol === RECEIVED_SMALL || symbol === RECEIVED_LARGE) {
      const recv = feedback.recvDeltas[delta++];
      if (recv === undefined) return; // truncated feedback: nothing more is known
      arrivalUs += recv.delta;
      each(seq, arrivalUs / 1000);
    } else {
      each(seq, -1);
    }
    seq = (seq + 1) & 0xffff;
  };
  for (const chunk of feedback.packetChunks) {
    if (chunk instanceof RunLengthChunk) {
      for (let i = 0; i < chunk.runLength && left > 0; i++) report(chunk.packetStatus);
    } else if (chunk instanceof StatusVectorChunk) {
      for (const symbol of chunk.symbolList) report(symbol);
    }
  }
}

/**
 * The subscriber connection's half of the send-side estimate: remembers when each forwarded packet left
 * and how large it was, by the transport-wide sequence number werift gave it, and resolves the
 * subscriber's transport-cc feedback against that history into the core's input (FeedbackPacket[]).
 * The estimate itself is the core's (core/congestion).
 *
 * werift numbers a packet while `sendRtp` runs synchronously (its sender writes the header extension
 * before its first await), so the transport's counter right after the call is that packet's number;
 * when it did not move (the m-line has no such extension, or werift queued the packet) nothing is kept.
 */
import { type RTCDtlsTransport, type RTCRtpSender, RtcpTransportLayerFeedback, TransportWideCC } from "werift";
import type { FeedbackPacket } from "../core/index.ts";
import { readTransportCc } from "./transport-cc-reader.ts";

/** Packets remembered (a power of two): several seconds at the rates one subscriber receives. */
const HISTORY = 8192;
/** RTP header and the extensions werift writes (mid, abs-send-time, transport-cc), besides the payload. */
const HEADER_BYTES = 32;

/**
 * Keeps werift's own send-side estimator (SenderBandwidthEstimator) off a sender: the relay's estimate
 * is the core's, and werift's keeps an object per transport-wide sequence number that it never deletes
 * (its cleanup reads the wrong object): up to 65,536 of them per sender once the numbers advance.
 */
/** One feedback's seqs and departure times, shared (a feedback is read synchronously, one at a time). */
const feedbackSeqs = new Int32Array(HISTORY);
const departed = new Float64Array(HISTORY);

export function withoutWeriftEstimator(sender: RTCRtpSender): void {
  sender.senderBWE.rtpPacketSent = () => undefined;
  sender.senderBWE.receiveTWCC = () => undefined;
}

export class SubscriberFeedback {
  private readonly seqs = new Int32Array(HISTORY).fill(-1);
  private readonly sentAt = new Float64Array(HISTORY);
  private readonly sizes = new Uint32Array(HISTORY);
  private transport: RTCDtlsTransport | undefined;
  private lastSeq = -1;
  private readonly clock: () => number;
  private readonly onFeedback: (packets: FeedbackPacket[]) => void;

  /** When packets really left (the native sender thread's record), where known: see SubscriberPath.departures. */
  private readonly departures: ((seqs: Int32Array, out: Float64Array, count: number) => void) | undefined;

  constructor(clock: () => number, onFeedback: (packets: FeedbackPacket[]) => void, departures?: (seqs: Int32Array, out: Float64Array, count: number) => void) {
    this.clock = clock;
    this.onFeedback = onFeedback;
    this.departures = departures;
  }

  /** Right after `sender.sendRtp()` of a packet with `payloadBytes` on `transport`. */
  sent(transport: RTCDtlsTransport, payloadBytes: number): void {
    if (transport !== this.transport) this.watch(transport);
    const seq = transport.transportSequenceNumber;
    if (seq === this.lastSeq) return;
    this.lastSeq = seq;
    const slot = seq & (HISTORY - 1);
    this.seqs[slot] = seq;
    this.sentAt[slot] = this.clock();
    this.sizes[slot] = payloadBytes + HEADER_BYTES;
  }

  /**
   * `seq` went out twice (a resend without RTX repeats its transport-wide seq): a report on it may be
   * about either copy, so it is left out of the estimate.
   */
  forget(seq: number): void {
    if (seq >= 0) this.seqs[seq & (HISTORY - 1)] = -1;
  }

  private watch(transport: RTCDtlsTransport): void {
    this.transport = transport;
    this.lastSeq = transport.transportSequenceNumber;
    transport.onRtcp.subscribe((packet) => {
      if (this.transport !== transport || !(packet instanceof RtcpTransportLayerFeedback) || !(packet.feedback instanceof TransportWideCC)) return;
      const packets: FeedbackPacket[] = [];
      readTransportCc(packet.feedback, (seq, arrivedAt) => {
        const slot = seq & (HISTORY - 1);
        if (this.seqs[slot] !== seq || packets.length >= HISTORY) return;
        feedbackSeqs[packets.length] = seq;
        packets.push({ sentAt: this.sentAt[slot]!, size: this.sizes[slot]!, arrivedAt });
      });
      if (packets.length === 0) return;
      if (this.departures !== undefined) {
        // Sent on the native sender thread: when it left, not when it was queued (that wait is no network delay).
        this.departures(feedbackSeqs, departed, packets.length);
        for (let k = 0; k < packets.length; k++) if (departed[k]! >= 0) packets[k]!.sentAt = departed[k]!;
      }
      this.onFeedback(packets);
    });
  }
}

/**
 * For a publisher that does only REMB (its offer has no transport-wide sequence numbers, as aiortc's):
 * records each packet's abs-send-time, size and arrival on the connection's transport and hands them
 * over every 50 ms, for the core's receive estimate (core/congestion/publisher-remb.ts), which comes back
 * as REMB. Publishers with transport-cc get feedback instead (publisher-feedback.ts) and estimate
 * their uplink themselves. Arrival times are taken where werift hands over each decrypted packet,
 * corrected for the relay's own stalls by ArrivalStamper (as the transport-cc feedback's).
 */
import { type RTCDtlsTransport, type RTCRtpTransceiver, RTP_EXTENSION_URI } from "werift";
import type { FeedbackPacket } from "../core/index.ts";
import { ArrivalStamper } from "./arrival-stamper.ts";

const REPORT_INTERVAL_MS = 50;
/** abs-send-time: 6.18 fixed-point seconds in 24 bits, wrapping every 64 s. */
const ABS_SEND_TIME_RANGE = 1 << 24;
const ABS_SEND_TIME_MS = 1000 / (1 << 18);

/** Unwraps the 24-bit abs-send-time into milliseconds since the first packet (a step back is reordering). */
export class AbsSendTimeClock {
  private last: number | undefined;
  private ms = 0;

  toMs(raw: number): number {
    if (this.last !== undefined) {
      let delta = (raw - this.last + ABS_SEND_TIME_RANGE) % ABS_SEND_TIME_RANGE;
      if (delta >= ABS_SEND_TIME_RANGE / 2) delta -= ABS_SEND_TIME_RANGE;
      this.ms += delta * ABS_SEND_TIME_MS;
    }
    this.last = raw;
    return this.ms;
  }
}

export class PublisherArrivals {
  private readonly onArrivals: (packets: FeedbackPacket[]) => void;
  private readonly sendTimes = new AbsSendTimeClock();
  /** Read, waiting for the stamper's arrival time; it stamps in the order packets were read. */
  private readonly unstamped: FeedbackPacket[] = [];
  private readonly stamper = new ArrivalStamper((_, arrivalMs) => {
    const packet = this.unstamped.shift()!;
    packet.arrivedAt = arrivalMs;
    this.pending.push(packet);
  });
  private pending: FeedbackPacket[] = [];
  private transport: RTCDtlsTransport | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(onArrivals: (packets: FeedbackPacket[]) => void) {
    this.onArrivals = onArrivals;
  }

  /**
   * After each negotiation: starts once abs-send-time was agreed without transport-wide sequence
   * numbers (the id is the same on every bundled m-line, RFC 8285 section 6).
   */
  negotiated(transceivers: readonly RTCRtpTransceiver[]): void {
    if (this.transport) return;
    const extensions = transceivers.flatMap((t) => t.headerExtensions);
    if (extensions.some((e) => e.uri === RTP_EXTENSION_URI.transportWideCC)) return;
    const absSendTime = extensions.find((e) => e.uri === RTP_EXTENSION_URI.absSendTime);
    const transceiver = transceivers.find((t) => t.headerExtensions.includes(absSendTime!));
    if (absSendTime === undefined || transceiver === undefined) return;
    const id = absSendTime.id;
    this.transport = transceiver.receiver.dtlsTransport;
    this.transport.onRtp.subscribe((rtp) => {
      const ext = rtp.header.extensions.find((e) => e.id === id);
      if (ext === undefined || ext.payload.length < 3) return;
      this.unstamped.push({ sentAt: this.sendTimes.toMs(ext.payload.readUIntBE(0, 3)), size: rtp.serializeSize, arrivedAt: 0 });
      this.stamper.arrived(0);
    });
    this.timer = setInterval(() => {
      if (this.pending.length === 0) return;
      const packets = this.pending;
      this.pending = [];
      this.onArrivals(packets);
    }, REPORT_INTERVAL_MS);
  }

  close(): void {
    clearInterval(this.timer);
    this.transport = undefined;
  }
}

/**
 * Sends a publisher transport-cc feedback for everything it sends the relay on one connection (all its
 * m-lines share the BUNDLE transport and one transport-wide sequence space): the publisher's browser
 * estimates its uplink from it. Arrival times are taken where werift hands over each decrypted packet
 * (synchronously from the socket's read), corrected for the relay's own stalls by ArrivalStamper.
 */
import { type RTCDtlsTransport, type RtcpPacket, type RTCRtpReceiver, type RTCRtpTransceiver, RTP_EXTENSION_URI } from "werift";
import { TransportCcFeedback } from "../media/transport-cc-feedback.ts";
import { ArrivalStamper } from "./arrival-stamper.ts";

/** How often feedback goes out: libwebrtc's default interval, fine-grained enough for its estimator. */
const FEEDBACK_INTERVAL_MS = 50;

/**
 * Keeps werift's own transport-cc generator (ReceiverTWCC) off this receiver: it starts on the first
 * packet whenever the negotiated codec lists transport-cc (the answer copies the browser's feedback
 * list), and its packets are malformed (werift's own parser drops them) besides the faults in
 * media/transport-cc-feedback.ts. Call before any packet arrives; it holds across renegotiations.
 */
export function withoutWeriftFeedback(receiver: RTCRtpReceiver): void {
  receiver.setupTWCC = () => undefined;
  receiver.receiverTWCC = undefined;
}

export class PublisherFeedback {
  private readonly feedback = new TransportCcFeedback();
  private readonly stamper = new ArrivalStamper((seq, arrivalMs) => this.feedback.record(seq, arrivalMs));
  private transport: RTCDtlsTransport | undefined;
  private extensionId: number | undefined;
  private mediaSsrc = 0;
  private senderSsrc = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onSent: () => void;

  constructor(onSent: () => void) {
    this.onSent = onSent;
  }

  /**
   * After each negotiation: starts on the connection's transport once the client's offer and the
   * relay's answer agreed on the transport-wide sequence number extension (its id is the same on every
   * bundled m-line, RFC 8285 section 6).
   */
  negotiated(transceivers: readonly RTCRtpTransceiver[]): void {
    const withExtension = transceivers.find((t) => t.headerExtensions.some((e) => e.uri === RTP_EXTENSION_URI.transportWideCC));
    if (!withExtension || this.transport) return;
    this.extensionId = withExtension.headerExtensions.find((e) => e.uri === RTP_EXTENSION_URI.transportWideCC)!.id;
    this.senderSsrc = withExtension.receiver.rtcpSsrc;
    this.transport = withExtension.receiver.dtlsTransport;
    this.transport.onRtp.subscribe((rtp) => {
      const ext = rtp.header.extensions.find((e) => e.id === this.extensionId);
      if (ext === undefined || ext.payload.length < 2) return;
      this.mediaSsrc = rtp.header.ssrc;
      this.stamper.arrived(ext.payload.readUInt16BE(0));
    });
    this.timer = setInterval(() => this.send(), FEEDBACK_INTERVAL_MS);
  }

  close(): void {
    clearInterval(this.timer);
    this.transport = undefined;
  }

  private send(): void {
    const packet = this.feedback.take(this.senderSsrc, this.mediaSsrc);
    if (packet === undefined || this.transport?.state !== "connected") return;
    // sendRtcp only serializes what it is given; this packet is serialized already.
    const serialized = { serialize: () => packet } as unknown as RtcpPacket;
    this.transport.sendRtcp([serialized]).catch(() => undefined);
    this.onSent();
  }
}

/**
 * One subscription's forwarded RTP, sent by the relay instead of werift's RTCRtpSender: the header
 * from a template (the sender's SSRC, the negotiated codec's payload type, the extensions the
 * subscriber negotiated: mid, abs-send-time, transport-wide sequence number, audio level), the payload
 * copied behind it, then protected and sent by the connection's SubscriberPath. One Buffer per packet,
 * no promise, no clone.
 *
 * What werift's sender did for each packet, kept: the counters and timestamps of its RTCP sender
 * reports (werift still builds and sends them, from these), the transport's transport-wide sequence
 * number (SubscriberFeedback reads it after each send), the transport's and pair's stats. What it did
 * that the relay does not want: a clone per packet for NACKs (the relay resends from shell/packet-store),
 * its send-side estimator (subscriber-feedback.ts turns it off).
 *
 * The SR's NTP time is computed when werift reads it, from the last send's time (werift built it per
 * packet, with strings and BigInt, and wrote decimal digits as the binary fraction).
 */
import { RTP_EXTENSION_URI, type RTCRtpSender } from "werift";
import { SRTP_HEADROOM, SRTP_TRAILER } from "../../media/srtp-cipher.ts";
import { absSendTime, type HeaderValues, ntpTimestamp, RtpHeaderTemplate, type TemplateExtension } from "../../media/rtp-header-template.ts";
import { senderInternals, type SenderInternals } from "./werift-internals.ts";
import { SentHeaders } from "./sent-headers.ts";
import type { SubscriberPath } from "./subscriber-path.ts";

/** The packet: what the core rewrote, and the publisher's audio level byte (-1: none). */
export interface FastPacket {
  seq: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
  audioLevel: number;
}

/** sent; dropped (not connected yet, as werift drops it); unsupported (werift must send it: RED, two-byte extension ids). */
export type FastSendResult = "sent" | "dropped" | "unsupported";

export class FastTrackSender {
  readonly #sender: RTCRtpSender;
  readonly #internals: SenderInternals;
  readonly #path: SubscriberPath;
  /** What the templates were made from; another codec or extension list after a negotiation remakes them. */
  #madeFor: { codec: unknown; extensions: unknown; mid: string | undefined } | undefined;
  /** Without and with the audio level; null: the extensions do not fit (werift sends). */
  #templates: [RtpHeaderTemplate | null, RtpHeaderTemplate | null] | undefined;
  /** The RTX stream's (RFC 4588), for the payload type it was made for; remade with the others. */
  #rtxTemplate: { payloadType: number; template: RtpHeaderTemplate | null } | undefined;
  readonly #values: HeaderValues = { seq: 0, timestamp: 0, marker: false, absSendTime: 0, transportSeq: 0, audioLevel: 0 };
  /** The last send's wall-clock time (ms since the Unix epoch); NaN: werift's own sendRtp sent last. */
  #sentAtMs = Number.NaN;

  constructor(sender: RTCRtpSender, path: SubscriberPath) {
    this.#sender = sender;
    this.#internals = senderInternals(sender);
    this.#path = path;
    let weriftNtp = this.#internals.ntpTimestamp;
    Object.defineProperty(sender, "ntpTimestamp", {
      configurable: true,
      get: () => (Number.isNaN(this.#sentAtMs) ? weriftNtp : ntpTimestamp(this.#sentAtMs)),
      set: (value: bigint) => {
        weriftNtp = value;
        this.#sentAtMs = Number.NaN;
      },
    });
  }

  /**
   * `again`: a resend on the media SSRC (the subscriber declined RTX) of a packet this sender sent:
   * byte for byte the first one, its abs-send-time and transport-wide seq included. The same SRTP
   * index must never protect two different packets: with AES-GCM a second header (the AAD) under the
   * same nonce gives away the authentication key (RFC 7714 section 8.4: the GCM "forbidden attack"),
   * after which an on-path attacker can alter packets undetected. A packet too old for the history is
   * not resent ("dropped"): the keyframe request that follows a persistent loss recovers.
   */
  send(packet: FastPacket, again = false): FastSendResult {
    const sender = this.#sender;
    const transport = sender.dtlsTransport;
    const codec = sender.codec;
    if (sender.stopped || codec === undefined || transport === undefined || !this.#path.ready(transport)) return "dropped";
    const sent = this.#sent;
    const first = sent.indexOf(packet.seq);
    // A second forward of a seq already sent (a publisher's duplicate): on the wire it would be an SRTP
    // replay the subscriber drops, and under a new header the reuse of an index described above.
    if (!again && first >= 0) return "dropped";
    if (sender.redRedundantPayloadType !== undefined) return again ? "dropped" : "unsupported";
    if (again && first < 0) return "dropped";
    const templates = this.#madeTemplates();
    if (again && sent.generations[first] !== this.#generation) return "dropped"; // its templates were remade since
    const level = again ? sent.levels[first]! : packet.audioLevel;
    const template = templates[level >= 0 ? 1 : 0];
    if (template === null) return again ? "dropped" : "unsupported"; // werift would write new extension values
    const internals = this.#internals;
    if (again) {
      this.resentTransportSeq = template.carriesTransportSeq ? sent.transportSeqs[first]! : -1;
      this.#write(template, { ...packet, audioLevel: level }, sender.ssrc, { absSendTime: sent.absSendTimes[first]!, transportSeq: sent.transportSeqs[first]! });
    } else {
      this.#write(template, packet, sender.ssrc);
      sent.remember(packet.seq, this.#values.absSendTime, this.#values.transportSeq, packet.audioLevel, this.#generation);
      // The SR pairs the latest media packet's RTP timestamp with its send time (#write): neither a
      // resend's nor an RTX packet's.
      internals.rtpTimestamp = packet.timestamp;
    }
    internals.packetCount = (internals.packetCount + 1) >>> 0;
    internals.octetCount += packet.payload.length;
    internals.headerBytesSent += template.length;
    if (!internals.rtcpRunning) void internals.runRtcp(); // werift starts its sender reports on the first packet
    return "sent";
  }

  /**
   * Sends an RTX packet (RFC 4588) on the sender's RTX SSRC: `packet.seq` is the RTX stream's own, the
   * payload already starts with the original seq. With the same extensions as the media (mid,
   * abs-send-time, the transport-wide seq), so resends and probe padding are in the transport-cc
   * feedback like everything else sent (werift's RTX path writes none). The media's SR counters are not
   * touched: these bytes are not the media stream's.
   */
  sendRtx(packet: FastPacket, payloadType: number): FastSendResult {
    const sender = this.#sender;
    const transport = sender.dtlsTransport;
    if (sender.stopped || sender.codec === undefined || transport === undefined || !this.#path.ready(transport)) return "dropped";
    this.#madeTemplates();
    if (this.#rtxTemplate?.payloadType !== payloadType) this.#rtxTemplate = { payloadType, template: this.#make(sender.rtxSsrc, payloadType, false) };
    const template = this.#rtxTemplate.template;
    if (template === null) return "unsupported";
    this.#write(template, packet, sender.rtxSsrc);
    return "sent";
  }

  /** `first`: a resend's values from the first send (no new transport-wide seq: the feedback keeps the first send's time). */
  #write(template: RtpHeaderTemplate, packet: FastPacket, ssrc: number, first?: { absSendTime: number; transportSeq: number }): void {
    const transport = this.#sender.dtlsTransport;
    const nowMs = performance.timeOrigin + performance.now();
    const values = this.#values;
    values.seq = packet.seq;
    values.timestamp = packet.timestamp;
    values.marker = packet.marker;
    values.absSendTime = first?.absSendTime ?? absSendTime(nowMs);
    values.audioLevel = packet.audioLevel;
    if (first !== undefined) {
      values.transportSeq = first.transportSeq;
    } else if (template.carriesTransportSeq) {
      transport.transportSequenceNumber = (transport.transportSequenceNumber + 1) & 0xffff;
      values.transportSeq = transport.transportSequenceNumber;
    }
    const { payload } = packet;
    const length = template.length + payload.length;
    const buf = this.#path.buffer(SRTP_HEADROOM + length + SRTP_TRAILER);
    template.write(buf, SRTP_HEADROOM, values);
    payload.copy(buf, SRTP_HEADROOM + template.length);
    // A resend's departure is not noted: its transport-wide seq is the first send's (see resentTransportSeq).
    this.#path.send(transport, buf, template.length, length, ssrc, packet.seq, template.carriesTransportSeq && first === undefined ? values.transportSeq : -1);
    if (first === undefined && ssrc === this.#sender.ssrc) this.#sentAtMs = nowMs;
  }

  /** The header values of the packets sent on the media SSRC (for send(again)). */
  readonly #sent = new SentHeaders();
  /** Counts the templates made: a resend under other templates (another extension list) would not be the same bytes. */
  #generation = 0;
  /**
   * The transport-wide seq the last send(again) repeated (-1: none): that seq now names two packets,
   * and the feedback cannot tell which one a report is about (SubscriberFeedback.forget).
   */
  resentTransportSeq = -1;

  #madeTemplates(): [RtpHeaderTemplate | null, RtpHeaderTemplate | null] {
    const sender = this.#sender;
    const { headerExtensions: extensions, mid } = this.#internals;
    const made = this.#madeFor;
    if (this.#templates !== undefined && made !== undefined && made.codec === sender.codec && made.extensions === extensions && made.mid === mid) return this.#templates;
    this.#madeFor = { codec: sender.codec, extensions, mid };
    this.#generation++;
    const payloadType = sender.codec!.payloadType;
    this.#templates = [this.#make(sender.ssrc, payloadType, false), this.#make(sender.ssrc, payloadType, true)];
    this.#rtxTemplate = undefined;
    return this.#templates;
  }

  /** A header template for `ssrc` with the negotiated extensions (`level`: and the audio level); null: they do not fit. */
  #make(ssrc: number, payloadType: number, level: boolean): RtpHeaderTemplate | null {
    const { headerExtensions: extensions, mid } = this.#internals;
    const chosen: TemplateExtension[] = [];
    for (const { id, uri } of extensions) {
      if (uri === RTP_EXTENSION_URI.sdesMid && mid) chosen.push({ id, kind: "fixed", value: Buffer.from(mid) });
      else if (uri === RTP_EXTENSION_URI.absSendTime) chosen.push({ id, kind: "abs-send-time" });
      else if (uri === RTP_EXTENSION_URI.transportWideCC) chosen.push({ id, kind: "transport-cc" });
      else if (uri === RTP_EXTENSION_URI.audioLevelIndication && level) chosen.push({ id, kind: "audio-level" });
    }
    try {
      return new RtpHeaderTemplate(ssrc, payloadType, chosen);
    } catch {
      return null;
    }
  }
}

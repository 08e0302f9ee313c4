/**
 * A participant's publisher connection: the client offers, the relay answers, and RTP arrives here.
 * It maps each incoming packet to (track id, simulcast layer, codec) and hands it on; it knows nothing
 * of rooms.
 */
import {
  GenericNack,
  type MediaStreamTrack,
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  type RtpPacket,
  SessionDescription,
} from "werift";
import type { FeedbackPacket, NegotiatedTrack } from "../core/index.ts";
import { audioLevelId, readAudioLevelByte } from "./audio-level.ts";
import { publisherPeerConfig, type RtcNetworkOptions } from "./media-config.ts";
import { startRestartedIce } from "./ice-restart.ts";
import { RED_MIME, withRedPassedWhole } from "./red-forwarding.ts";
import { watchSelectedPath } from "./selected-path.ts";
import { acceptBundleOnly, withoutSimulcastSsrcs, withSessionIceLite } from "./sdp-fixups.ts";
import { withOpusResilience } from "./opus-resilience.ts";
import { publishOfferRefusal } from "./sdp-limits.ts";
import { PublisherArrivals } from "./publisher-arrivals.ts";
import { PublisherFeedback, withoutWeriftFeedback } from "./publisher-feedback.ts";
import { START_BITRATE_KBPS, withStartBitrate } from "./start-bitrate.ts";
import { unprotectWithReusedState } from "./srtp-receive.ts";

/** A track the client declared for an m-line of its offer, with the relay's id for it. */
export interface PublisherTrackBinding {
  trackId: string;
  mid: string;
  kind: "audio" | "video";
  /** Simulcast rids, lowest first; [] without simulcast. */
  layers: readonly string[];
}


/**
 * A bound track, with the id its m-line negotiated for audio levels (undefined: none, or video) and
 * the payload type of its RED packets (undefined: RED not negotiated).
 */
type Bound = PublisherTrackBinding & NegotiatedTrack & { audioLevelId: number | undefined; redPayloadType: number | undefined };

export interface PublisherEvents {
  /**
   * One RTP packet of a bound track; `layer` indexes the binding's layers (0 without simulcast); `codec`
   * its MIME type (`audio/red` for a RED packet of an Opus track: RED_MIME); `audioLevel` the byte of
   * its ssrc-audio-level extension, -1 without one.
   */
  onRtp(trackId: string, layer: number, packet: RtpPacket, codec: string, audioLevel: number): void;
  /** The relay sent the publisher a transport-cc feedback packet. */
  onTransportFeedbackSent(): void;
  /** A REMB-only publisher's packets since the last call (publisher-arrivals.ts), for the receive estimate. */
  onArrivals(packets: FeedbackPacket[]): void;
  onConnectionState(state: RTCPeerConnection["connectionState"]): void;
}

export class SdpError extends Error {}

export class PublisherConnection {
  readonly pc: RTCPeerConnection;
  private readonly bindings = new Map<string, Bound>(); // by mid
  /** Per track, per layer: the SSRC seen on the wire (for PLI) and the receiving transceiver. */
  private readonly layerSsrcs = new Map<string, Array<number | undefined>>();
  private readonly transceiverByTrack = new Map<string, RTCRtpTransceiver>();
  private closed = false;
  private readonly feedback: PublisherFeedback;
  private readonly arrivals: PublisherArrivals;

  private readonly events: PublisherEvents;

  constructor(net: RtcNetworkOptions, events: PublisherEvents) {
    this.events = events;
    this.feedback = new PublisherFeedback(() => this.events.onTransportFeedbackSent());
    this.arrivals = new PublisherArrivals((packets) => this.events.onArrivals(packets));
    this.pc = new RTCPeerConnection(publisherPeerConfig(net));
    watchSelectedPath(this.pc, net.onPathSelected);
    this.pc.connectionStateChange.subscribe((state) => this.events.onConnectionState(state));
    unprotectWithReusedState(this.pc, net.accelerator);
    this.pc.onRemoteTransceiverAdded.subscribe((transceiver) => this.watchTransceiver(transceiver));
  }

  /**
   * Applies the client's (re-)offer. `newTracks` binds m-lines that were not published before; every
   * declared mid must exist in the offer with the declared kind and a sending direction. Throws SdpError
   * with a message for the client when the offer is unusable; then no track is bound (all or none).
   */
  async answer(offer: string, newTracks: readonly PublisherTrackBinding[]): Promise<{ sdp: string; tracks: NegotiatedTrack[] }> {
    const overLimit = publishOfferRefusal(offer);
    if (overLimit !== undefined) throw new SdpError(overLimit);
    const offerSdp = withoutSimulcastSsrcs(acceptBundleOnly(offer));
    let parsed: SessionDescription;
    try {
      parsed = SessionDescription.parse(offerSdp);
    } catch (e) {
      throw new SdpError(`the SDP offer could not be parsed: ${(e as Error).message}`);
    }
    if (parsed.media.length === 0 || !offerSdp.startsWith("v=0")) {
      throw new SdpError("the SDP offer has no m-lines; it must start with v=0 and describe the tracks to publish");
    }
    for (const track of newTracks) {
      if (this.bindings.has(track.mid)) throw new SdpError(`mid "${track.mid}" is already published`);
      const media = parsed.media.find((m) => m.rtp.muxId === track.mid);
      if (!media) throw new SdpError(`the offer has no m-line with mid "${track.mid}"`);
      if (media.kind !== track.kind) throw new SdpError(`m-line "${track.mid}" is ${media.kind}, declared as ${track.kind}`);
      if (media.direction !== "sendonly" && media.direction !== "sendrecv") {
        throw new SdpError(`m-line "${track.mid}" is ${media.direction ?? "inactive"}; a published track must be sendonly`);
      }
      const rids = media.simulcastParameters.filter((p) => p.direction === "send").map((p) => p.rid);
      const unknown = track.layers.find((rid) => !rids.includes(rid));
      if (unknown !== undefined) throw new SdpError(`m-line "${track.mid}" does not send simulcast rid "${unknown}"`);
    }
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    } catch (e) {
      throw new SdpError(`the relay could not apply the offer: ${(e as Error).message}`);
    }
    try {
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      startRestartedIce(this.pc); // an ICE-restart offer (`restart-ice`)
      this.feedback.negotiated(this.pc.getTransceivers());
      this.arrivals.negotiated(this.pc.getTransceivers());
    } catch (e) {
      // werift accepts some offers it cannot answer (an m-line without a=mid, say): still the offer's fault.
      throw new SdpError(`the relay could not answer the offer: ${(e as Error).message}`);
    }

    // Every track must have a codec before any is bound: a refused offer leaves no binding behind.
    const bound: Array<{ binding: Bound; transceiver: RTCRtpTransceiver }> = [];
    for (const track of newTracks) {
      const transceiver = this.pc.getTransceivers().find((t) => t.mid === track.mid);
      // The track's codec is the frame codec; RED (listed first when negotiated) is its container.
      const codec = transceiver?.codecs.find((c) => c.mimeType.toLowerCase() !== RED_MIME);
      if (!transceiver || !codec) {
        throw new SdpError(`m-line "${track.mid}" offers no codec the relay forwards (Opus, VP8, H264)`);
      }
      const redPayloadType = transceiver.codecs.find((c) => c.mimeType.toLowerCase() === RED_MIME)?.payloadType;
      bound.push({ binding: { ...track, codec: codec.mimeType, clockRate: codec.clockRate, audioLevelId: audioLevelId(transceiver), redPayloadType }, transceiver });
    }
    for (const { binding, transceiver } of bound) {
      this.bindings.set(binding.mid, binding);
      this.transceiverByTrack.set(binding.trackId, transceiver);
      this.layerSsrcs.set(binding.trackId, []);
    }
    const sdp = withOpusResilience(withStartBitrate(withSessionIceLite(this.pc.localDescription!.sdp), START_BITRATE_KBPS));
    return { sdp, tracks: bound.map(({ binding }) => ({ trackId: binding.trackId, codec: binding.codec, clockRate: binding.clockRate })) };
  }

  /** The client unpublished this track: stop routing its packets. */
  unbind(trackId: string): void {
    for (const [mid, binding] of this.bindings) {
      if (binding.trackId === trackId) this.bindings.delete(mid);
    }
    this.transceiverByTrack.delete(trackId);
    this.layerSsrcs.delete(trackId);
  }

  /** Sends a PLI for one layer of a track; false (nothing sent) until the layer's first packet told its SSRC. */
  requestKeyframe(trackId: string, layer: number): boolean {
    const ssrc = this.layerSsrcs.get(trackId)?.[layer];
    const transceiver = this.transceiverByTrack.get(trackId);
    if (ssrc === undefined || !transceiver || this.closed) return false;
    transceiver.receiver.sendRtcpPLI(ssrc).catch(() => undefined);
    return true;
  }

  /**
   * Sends a generic NACK for packets of one layer of a track (the core's `send-nack`); false (nothing
   * sent) until the layer's first packet told its SSRC.
   */
  sendNack(trackId: string, layer: number, seqs: readonly number[]): boolean {
    const ssrc = this.layerSsrcs.get(trackId)?.[layer];
    const transceiver = this.transceiverByTrack.get(trackId);
    if (ssrc === undefined || !transceiver || this.closed) return false;
    const { receiver } = transceiver;
    const nack = new GenericNack({ senderSsrc: receiver.rtcpSsrc, mediaSourceSsrc: ssrc, lost: [...seqs] });
    receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })]).catch(() => undefined);
    return true;
  }

  /**
   * Sends a REMB (the core's `send-remb`) naming every SSRC the publisher sends on (a REMB covers the
   * connection; aiortc applies it to a sender only when its SSRC is listed); false before any arrived.
   */
  sendRemb(bitsPerSecond: number): boolean {
    const ssrcs = [...this.layerSsrcs.values()].flat().filter((s): s is number => s !== undefined);
    const transceiver = this.transceiverByTrack.values().next().value;
    if (ssrcs.length === 0 || transceiver === undefined || this.closed) return false;
    // bitrate = mantissa (18 bits) << exponent (6 bits), RFC draft-alvestrand-rmcat-remb-03.
    let brExp = 0;
    let brMantissa = Math.max(0, Math.floor(bitsPerSecond));
    while (brMantissa >= 1 << 18) {
      brMantissa = Math.floor(brMantissa / 2);
      brExp++;
    }
    const { receiver } = transceiver;
    const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: receiver.rtcpSsrc, mediaSsrc: 0, ssrcNum: ssrcs.length, brExp, brMantissa, ssrcFeedbacks: ssrcs });
    receiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch(() => undefined);
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.feedback.close();
    this.arrivals.close();
    this.bindings.clear();
    await this.pc.close();
  }

  /** Each receiving transceiver reports one track per simulcast layer (werift: transceiver.onTrack). */
  private watchTransceiver(transceiver: RTCRtpTransceiver): void {
    // The core NACKs each simulcast layer on its own (nack-generator.ts); werift's one NackHandler per
    // receiver mixes the layers' sequence spaces (our werift patch adds the switch).
    transceiver.receiver.externalNack = true;
    withoutWeriftFeedback(transceiver.receiver);
    withRedPassedWhole(transceiver.receiver);
    transceiver.onTrack.subscribe((track: MediaStreamTrack) => {
      track.onReceiveRtp.subscribe((packet: RtpPacket) => {
        const binding = transceiver.mid === null ? undefined : this.bindings.get(transceiver.mid);
        if (!binding) return;
        const layer = binding.layers.length === 0 ? 0 : binding.layers.indexOf(track.rid ?? "");
        if (layer < 0) return;
        const ssrcs = this.layerSsrcs.get(binding.trackId);
        if (ssrcs && ssrcs[layer] !== packet.header.ssrc) ssrcs[layer] = packet.header.ssrc;
        const codec = packet.header.payloadType === binding.redPayloadType ? RED_MIME : binding.codec;
        this.events.onRtp(binding.trackId, layer, packet, codec, readAudioLevelByte(packet.header, binding.audioLevelId));
      });
    });
  }
}


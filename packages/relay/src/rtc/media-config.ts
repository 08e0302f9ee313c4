/**
 * The codecs, RTCP feedback and header extensions the relay negotiates, and the werift options that
 * make a peer connection behave as a relay endpoint. The choices and why are in shared/notes/werift.md.
 */
import type { NativeAccelerator } from "./fast-send/native-accelerator.ts";
import {
  type PeerConfig,
  RTCRtpCodecParameters,
  useAbsSendTime,
  useAudioLevelIndication,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
} from "werift";
import { withOpusParameters } from "./opus-resilience.ts";
import { RED_MIME } from "./red-forwarding.ts";
import type { SelectedPath } from "./selected-path.ts";

/** Where the relay's WebRTC sockets live, what it announces, and who hears which path a connection took. */
export interface RtcNetworkOptions {
  bindAddress: string;
  announcedAddresses: string[];
  udpPortRange: [number, number] | undefined;
  /** Passive ICE-TCP candidates, for clients whose UDP is blocked. */
  iceTcp: boolean;
  /** Ports of the TCP listeners; undefined: the UDP range. */
  tcpPortRange: [number, number] | undefined;
  /** A connection connected over this path (for the metrics). */
  onPathSelected(path: SelectedPath): void;
  /** The native send accelerator (rtc/fast-send/native-accelerator.ts); absent: the JavaScript send path. */
  accelerator?: NativeAccelerator;
}

// Keyframe requests (PLI/FIR) and NACK are what a forwarding relay needs. transport-cc is left out on
// purpose: werift's feedback for it keeps Chromium's upload estimate at a few hundred kbit/s.
const videoFeedback = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }];

export const OPUS = new RTCRtpCodecParameters({
  mimeType: "audio/opus",
  clockRate: 48000,
  channels: 2,
  payloadType: 111,
  // In-band FEC and DTX (opus-resilience.ts): what the subscriber leg offers; the publisher leg's
  // answer gets them from withOpusResilience, as werift answers with the offer's fmtp.
  parameters: withOpusParameters("minptime=10"),
});
/**
 * RED (RFC 2198) with Opus as both blocks, as Chromium offers it (`a=fmtp:63 111/111`), listed before
 * Opus on both legs: libwebrtc sends RED only when the answer lists it first, and the relay forwards it
 * to subscribers that negotiated it and plain Opus to the others (rtc/red-forwarding.ts, media/red.ts).
 */
export const RED = new RTCRtpCodecParameters({
  mimeType: RED_MIME,
  clockRate: 48000,
  channels: 2,
  payloadType: 63,
  parameters: `${OPUS.payloadType}/${OPUS.payloadType}`,
});
export const VP8 = new RTCRtpCodecParameters({
  mimeType: "video/VP8",
  clockRate: 90000,
  payloadType: 96,
  rtcpFeedback: videoFeedback,
});
export const H264 = new RTCRtpCodecParameters({
  mimeType: "video/H264",
  clockRate: 90000,
  payloadType: 102,
  rtcpFeedback: videoFeedback,
  parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
});

export const SUPPORTED_CODECS = [OPUS, VP8, H264];

// The subscriber connection also asks for transport-cc feedback (the relay's own downlink estimate,
// core/congestion, which picks layers) and REMB (the browser's estimate, for clients without transport-cc).
const subscriberVideoFeedback = [...videoFeedback, { type: "transport-cc" }, { type: "goog-remb" }];
const SUBSCRIBER_VP8 = new RTCRtpCodecParameters({ ...VP8, rtcpFeedback: subscriberVideoFeedback });
const SUBSCRIBER_H264 = new RTCRtpCodecParameters({ ...H264, rtcpFeedback: subscriberVideoFeedback });
const SUBSCRIBER_VIDEO = [SUBSCRIBER_VP8, SUBSCRIBER_H264];
/**
 * RTX (RFC 4588) for each video codec, offered to subscribers: the relay's resends then go on their own
 * SSRC, so a receiver tells them from late packets. A subscriber whose answer leaves RTX out gets the
 * resends on the media SSRC. werift adds to an m-line the RTX of the codec it carries (never list RTX
 * in setCodecPreferences: werift matches it by MIME type, takes the first, and adds that one's codec).
 * Not on publisher connections: werift cannot route RTX of simulcast layers.
 */
const SUBSCRIBER_RTX = SUBSCRIBER_VIDEO.map(
  (codec, i) => new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: codec.clockRate, payloadType: [97, 103][i]!, parameters: `apt=${codec.payloadType}` }),
);

/**
 * The codecs a subscriber m-line offers for a publisher's MIME type (case-insensitive), most preferred
 * first: RED and Opus for Opus, the one video codec for video; [] if not forwarded.
 */
export function subscriberCodecs(mimeType: string): RTCRtpCodecParameters[] {
  const lower = mimeType.toLowerCase();
  if (lower === OPUS.mimeType.toLowerCase()) return [RED, OPUS];
  return SUBSCRIBER_VIDEO.filter((c) => c.mimeType.toLowerCase() === lower);
}


function networkConfig(net: RtcNetworkOptions): Partial<PeerConfig> {
  const announced = net.announcedAddresses.length ? net.announcedAddresses : [net.bindAddress];
  return {
    // ICE-lite: the browser does the checks; a full-ICE werift answerer fails fast without candidates.
    iceLite: true,
    bundlePolicy: "max-bundle",
    iceServers: [],
    // werift otherwise announces every address of every interface: announce exactly ours.
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: announced,
    // What the UDP sockets bind to; the TCP listeners too (our werift patch: werift listened on the
    // announced address, which behind 1:1 NAT is on no interface).
    iceInterfaceAddresses: { udp4: net.bindAddress },
    icePortRange: net.udpPortRange,
    iceStunGatherTimeout: 0,
    // ICE-lite gathers passive TCP candidates only. werift gives them a lower type preference than UDP
    // host candidates (105 vs 126, RFC 6544 4.2), so a client that can use UDP still picks UDP.
    iceUseTcp: net.iceTcp,
    iceTcpPassive: net.iceTcp,
    iceTcpPortRange: net.tcpPortRange,
  };
}

/** Publisher connection: the client offers, the relay answers and receives. */
export function publisherPeerConfig(net: RtcNetworkOptions): Partial<PeerConfig> {
  return {
    ...networkConfig(net),
    codecs: { audio: [RED, OPUS], video: [VP8, H264] },
    headerExtensions: {
      // Audio levels: the publisher's, read for active speakers (rtc/audio-level.ts). Transport-wide
      // sequence numbers on every m-line: the relay's transport-cc feedback covers audio and video
      // (publisher-feedback.ts).
      audio: [useSdesMid(), useAudioLevelIndication(), useTransportWideCC()],
      video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId(), useAbsSendTime(), useTransportWideCC()],
    },
  };
}

/** Subscriber connection: the relay offers and sends; each m-line carries one codec (audio: in RED where answered). */
export function subscriberPeerConfig(net: RtcNetworkOptions): Partial<PeerConfig> {
  return {
    ...networkConfig(net),
    codecs: { audio: [RED, OPUS], video: [...SUBSCRIBER_VIDEO, ...SUBSCRIBER_RTX] },
    headerExtensions: {
      // Audio levels: passed on, so the browser reports each remote track's level.
      audio: [useSdesMid(), useAbsSendTime(), useAudioLevelIndication()],
      // Transport-wide sequence numbers on video only: a browser reports in transport-cc only the
      // streams whose codec lists transport-cc, and audio packets it numbered but never reported
      // would read as lost.
      video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()],
    },
  };
}

/**
 * A pipe's receiving end (rooms spanning nodes, shell/pipe-from-node.ts): this node answers another
 * node's subscriber connection as a client would, so it runs full ICE (the other end is ICE-lite) on
 * its own UDP addresses, and receives what a subscriber does (RED and Opus, each video codec; NACK and
 * PLI). No TCP: nodes reach each other over UDP.
 */
export function pipePeerConfig(net: RtcNetworkOptions): Partial<PeerConfig> {
  return {
    ...networkConfig(net),
    iceLite: false,
    iceUseTcp: false,
    iceTcpPassive: false,
    codecs: { audio: [RED, OPUS], video: [VP8, H264] },
    headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()], video: [useSdesMid()] },
  };
}

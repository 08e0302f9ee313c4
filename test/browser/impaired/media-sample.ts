/**
 * What the impaired-network runs read inside a page: its peer connections' video counters, the same
 * way for an <sfu-room> page and a direct-call page. `recordPeerConnections` must run before the
 * page's scripts (evaluateOnNewDocument); both functions are serialized into the page.
 */
export interface MediaSample {
  /** performance.now() in the page (ms). */
  at: number;
  /** Received video (the inbound-rtp that decoded most). */
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
  totalFreezesDuration: number;
  /** Sent video, summed over the encodings (simulcast layers). */
  bytesSent: number;
  framesEncoded: number;
  /** The widest encoding being sent, and why the encoder holds back ("bandwidth", "cpu", "none"). */
  sentWidth: number;
  qualityLimitationReason: string;
  /** The browser's send-side estimate on its video connection (bit/s), 0 when it has none. */
  availableOutgoingBitrate: number;
}

export function recordPeerConnections(): void {
  const Native = window.RTCPeerConnection;
  const all: RTCPeerConnection[] = [];
  (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = all;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      all.push(this);
    }
  } as typeof RTCPeerConnection;
}

export async function sampleMedia(): Promise<MediaSample> {
  const out: MediaSample = {
    at: performance.now(), framesDecoded: 0, frameWidth: 0, frameHeight: 0, bytesReceived: 0, totalFreezesDuration: 0,
    bytesSent: 0, framesEncoded: 0, sentWidth: 0, qualityLimitationReason: "", availableOutgoingBitrate: 0,
  };
  for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
    if (pc.connectionState === "closed") continue;
    let sendsVideo = false;
    let estimate = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video" && (s.framesDecoded ?? 0) >= out.framesDecoded) {
        Object.assign(out, {
          framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0,
          bytesReceived: s.bytesReceived ?? 0, totalFreezesDuration: s.totalFreezesDuration ?? 0,
        });
      } else if (s.type === "outbound-rtp" && s.kind === "video") {
        sendsVideo = true;
        out.bytesSent += s.bytesSent ?? 0;
        out.framesEncoded += s.framesEncoded ?? 0;
        if ((s.frameWidth ?? 0) > out.sentWidth) out.sentWidth = s.frameWidth;
        if (s.qualityLimitationReason && s.qualityLimitationReason !== "none") out.qualityLimitationReason = s.qualityLimitationReason;
        else out.qualityLimitationReason ||= s.qualityLimitationReason ?? "";
      } else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
        estimate = s.availableOutgoingBitrate ?? 0;
      }
    });
    if (sendsVideo) out.availableOutgoingBitrate = estimate;
  }
  return out;
}

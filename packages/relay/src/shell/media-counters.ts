/**
 * What the shell counts on the media hot path, for /metrics: plain number fields, incremented per
 * packet or per RTCP message and read when Prometheus scrapes (a metrics-library call per packet would
 * cost more than forwarding it).
 */
export type MediaKind = "audio" | "video";

export interface PacketCount {
  packets: number;
  /** RTP payload bytes. */
  bytes: number;
}

export class MediaCounters {
  /** RTP received from publishers, by kind. */
  readonly in: Record<MediaKind, PacketCount> = { audio: { packets: 0, bytes: 0 }, video: { packets: 0, bytes: 0 } };
  /** RTP forwarded to subscribers, by kind. */
  readonly out: Record<MediaKind, PacketCount> = { audio: { packets: 0, bytes: 0 }, video: { packets: 0, bytes: 0 } };
  /** Generic NACK messages subscribers sent the relay. */
  nacksFromSubscribers = 0;
  /** NACK messages the relay sent publishers (the core's per-layer NACK generators). */
  nacksToPublishers = 0;
  /** Transport-cc feedback packets subscribers sent the relay (that matched packets it sent). */
  transportFeedbackFromSubscribers = 0;
  /** Transport-cc feedback packets the relay sent publishers. */
  transportFeedbackToPublishers = 0;
  /** REMB messages the relay sent publishers (core/congestion/publisher-remb.ts). */
  rembsToPublishers = 0;
  /** PLIs subscribers sent the relay. */
  plisFromSubscribers = 0;
  /** PLIs the relay sent publishers. */
  plisToPublishers = 0;
}

export function kindOfCodec(codec: string): MediaKind {
  return codec.startsWith("audio/") ? "audio" : "video";
}

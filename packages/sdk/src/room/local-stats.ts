/** Outbound statistics of a published track, per encoding (simulcast layer). */

export interface OutboundLayerStats {
  /** The layer's rid ("q", "h", "f"); undefined without simulcast. */
  rid: string | undefined;
  /** The encoding is switched on (dynacast switches off layers nobody receives). */
  active: boolean;
  framesEncoded: number;
  frameWidth: number | undefined;
  frameHeight: number | undefined;
  framesPerSecond: number | undefined;
  bytesSent: number;
  /** Bits per second since the previous getStats() call (undefined on the first). */
  bitrate: number | undefined;
  /** Why the browser sends less than asked: "bandwidth", "cpu", "none", ... */
  qualityLimitationReason: string | undefined;
}

type OutboundRtp = RTCOutboundRtpStreamStats & { rid?: string; qualityLimitationReason?: string };

export async function outboundStats(sender: RTCRtpSender, previous: Map<string, { at: number; bytes: number }>): Promise<OutboundLayerStats[]> {
  const encodings = sender.getParameters().encodings ?? [];
  const report = await sender.getStats();
  const byRid = new Map<string, OutboundRtp>();
  report.forEach((entry: RTCStats) => {
    if (entry.type === "outbound-rtp") byRid.set((entry as OutboundRtp).rid ?? "", entry as OutboundRtp);
  });
  const rids = encodings.length > 0 ? encodings.map((e) => e.rid ?? "") : [...byRid.keys()];
  return rids.map((rid, i) => {
    const s = byRid.get(rid);
    const bytes = s?.bytesSent ?? 0;
    const at = s?.timestamp ?? performance.now();
    const last = previous.get(rid);
    previous.set(rid, { at, bytes });
    return {
      rid: rid || undefined,
      active: encodings[i]?.active ?? true,
      framesEncoded: s?.framesEncoded ?? 0,
      frameWidth: s?.frameWidth,
      frameHeight: s?.frameHeight,
      framesPerSecond: s?.framesPerSecond,
      bytesSent: bytes,
      bitrate: last && at > last.at ? Math.round(((bytes - last.bytes) * 8 * 1000) / (at - last.at)) : undefined,
      qualityLimitationReason: s?.qualityLimitationReason,
    };
  });
}

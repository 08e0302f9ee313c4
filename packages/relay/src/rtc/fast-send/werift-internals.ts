/**
 * The parts of werift 0.25.2 the fast send path reads and writes that its type declarations keep
 * private: the sender's counters behind its RTCP sender reports and stats, its negotiated header
 * extensions and mid, and the ICE connection's readiness check. Named here once, so a werift upgrade
 * has one file to check (lib/index.mjs: RTCRtpSender.dispatchRtp/runRtcp, Connection.send).
 */
import type { IceConnection, RTCRtpSender } from "werift";

export interface SenderInternals {
  mid?: string;
  headerExtensions: Array<{ id: number; uri: string }>;
  /** The last packet's send time and RTP timestamp, and the counts, as its sender reports carry them. */
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  headerBytesSent: number;
  rtcpRunning: boolean;
  runRtcp(): Promise<void>;
}

export function senderInternals(sender: RTCRtpSender): SenderInternals {
  return sender as unknown as SenderInternals;
}

/** Connection.send's own condition: a nominated pair, not closed or failed, consent fresh (full ICE). */
export function canSendApplicationData(connection: IceConnection): boolean {
  return (connection as unknown as { canSendApplicationData(): boolean }).canSendApplicationData();
}

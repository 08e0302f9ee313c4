/**
 * The parts of werift 0.25.2 the fast send path reads and writes that its type declarations keep
 * private: the sender's counters behind its RTCP sender reports and stats, its negotiated header
 * extensions and mid, and the ICE connection's readiness check. Named here once, so a werift upgrade
 * has one file to check (lib/index.mjs: RTCRtpSender.dispatchRtp/runRtcp, Connection.send).
 */
import type { IceConnection, RTCDtlsTransport, RTCRtpSender } from "werift";

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

/**
 * The SRTP profiles a DTLS transport offers, most wanted first; as DTLS server it picks the first the
 * client also offers. werift passes every transport one module-wide list (GCM first) and declares the
 * field private. Read when DTLS starts (after the remote description), so set it before.
 */
export function setSrtpProfiles(transport: RTCDtlsTransport, profiles: readonly number[]): void {
  (transport as unknown as { srtpProfiles: number[] }).srtpProfiles = [...profiles];
}

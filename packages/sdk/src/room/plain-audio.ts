/**
 * Audio without RED (RFC 2198) for encrypted sessions: the relay offers and answers RED when both ends
 * have it (docs/quality.md), but Chromium's RED wraps and unwraps around the frame transform that
 * encrypts (e2ee/), so with both on the redundant copies do not decrypt and a receiver reports
 * `decrypt-failed` for the audio (LiveKit turns RED off with E2EE for the same reason). Plain Opus with
 * in-band FEC still protects against loss.
 */
export function withoutRed(transceiver: RTCRtpTransceiver, side: "send" | "receive"): void {
  const caps = side === "send" ? RTCRtpSender.getCapabilities?.("audio") : RTCRtpReceiver.getCapabilities?.("audio");
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return;
  const plain = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== "audio/red");
  if (plain.length === 0 || plain.length === caps.codecs.length) return;
  try {
    transceiver.setCodecPreferences(plain);
  } catch {
    // A browser that refuses the list keeps its default, RED included: audio may then not decrypt.
  }
}

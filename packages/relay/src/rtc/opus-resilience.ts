/**
 * Opus in-band FEC and DTX, asked of every publisher (RFC 7587, section 6.1: `useinbandfec` and
 * `usedtx` are the receiver's wishes, and an answer's fmtp is what its sender encodes for). werift as
 * answerer copies the offer's Opus fmtp instead of its own configured parameters, so the relay's
 * answer repeated Chromium's `minptime=10;useinbandfec=1` and never asked for DTX, and a client that
 * offers without `useinbandfec=1` (aiortc, GStreamer) was never asked for FEC. With both in the answer,
 * the encoder adds in-band FEC as soon as the relay's receiver reports show loss (libopus encodes it
 * only for a reported loss rate above zero), and sends a packet every 400 ms instead of every 20 ms
 * while the microphone hears silence. The subscriber leg offers the same (media-config.ts), so a
 * subscriber's answer tells its decoder what the forwarded packets may carry.
 * Only the SDP string sent to the client changes; werift's own state is untouched.
 */

/** The fmtp parameters the relay wants of every Opus stream it receives or sends. */
export const OPUS_RESILIENCE = { useinbandfec: "1", usedtx: "1" } as const;

/** `sdp` with `useinbandfec=1;usedtx=1` in the fmtp of every Opus payload type of its audio sections. */
export function withOpusResilience(sdp: string): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  return sdp
    .split(/(?=^m=)/m)
    .map((section) => {
      if (!section.startsWith("m=audio")) return section;
      const lines = section.split(eol);
      const pts = lines.flatMap((l) => /^a=rtpmap:(\d+) opus\//i.exec(l)?.[1] ?? []);
      for (const pt of pts) {
        const fmtp = lines.findIndex((l) => l.startsWith(`a=fmtp:${pt} `));
        if (fmtp >= 0) {
          lines[fmtp] = `a=fmtp:${pt} ${withOpusParameters(lines[fmtp]!.slice(`a=fmtp:${pt} `.length))}`;
        } else {
          const rtpmap = lines.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `));
          lines.splice(rtpmap + 1, 0, `a=fmtp:${pt} ${withOpusParameters("")}`);
        }
      }
      return lines.join(eol);
    })
    .join("");
}

/** An fmtp parameter list with the relay's values set (others, such as minptime or stereo, kept). */
export function withOpusParameters(list: string): string {
  const params = list.split(";").map((p) => p.trim()).filter((p) => p !== "");
  const kept = params.filter((p) => !(p.split("=")[0]!.trim().toLowerCase() in OPUS_RESILIENCE));
  return [...kept, ...Object.entries(OPUS_RESILIENCE).map(([k, v]) => `${k}=${v}`)].join(";");
}

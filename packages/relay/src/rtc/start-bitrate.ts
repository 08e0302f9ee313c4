/**
 * Chromium starts a new video sender at ~300 kbit/s and, with werift as the receiver (no REMB, weak
 * transport-cc feedback), climbs slowly: simulcast stays on its lowest layer for tens of seconds.
 * `x-google-start-bitrate` in the answer's fmtp makes it start high enough to send every layer within
 * seconds (measured: 4.1 Mbit/s with three layers within 5 s at 1500; see shared/notes/werift.md).
 * Only the SDP string sent to the client changes; werift's own state is untouched.
 */
const VIDEO_CODECS = /^(VP8|VP9|H264|AV1)$/i;

/** Where Chromium's video send estimate starts (kbit/s): enough for three simulcast layers at once. */
export const START_BITRATE_KBPS = 1500;

export function withStartBitrate(sdp: string, kbps: number): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const sections = sdp.split(/(?=^m=)/m);
  return sections
    .map((section) => {
      if (!section.startsWith("m=video")) return section;
      const lines = section.split(eol);
      const pts = lines
        .map((l) => /^a=rtpmap:(\d+) ([\w-]+)\//.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && VIDEO_CODECS.test(m[2]!))
        .map((m) => m[1]!);
      for (const pt of pts) {
        const fmtp = lines.findIndex((l) => l.startsWith(`a=fmtp:${pt} `));
        if (fmtp >= 0) {
          if (!lines[fmtp]!.includes("x-google-start-bitrate")) lines[fmtp] += `;x-google-start-bitrate=${kbps}`;
        } else {
          const rtpmap = lines.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `));
          lines.splice(rtpmap + 1, 0, `a=fmtp:${pt} x-google-start-bitrate=${kbps}`);
        }
      }
      return lines.join(eol);
    })
    .join("");
}

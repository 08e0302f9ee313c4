/**
 * The SDP of WHIP (RFC 9725): what a WHIP offer publishes, read from the offer itself (a WHIP client
 * sends no track list), and the trickle/ICE-restart fragments of PATCH (RFC 8840 "sdpfrag").
 *
 * The offer is checked here before its publisher joins the room, so that an offer the relay would
 * refuse anyway never shows the room a participant who comes and goes.
 */
import { SessionDescription } from "werift";
import { acceptBundleOnly } from "./sdp-fixups.ts";
import { publishOfferRefusal } from "./sdp-limits.ts";

/** The codecs the relay forwards (media-config.ts): an m-line without one of them publishes nothing. */
const FORWARDED_CODECS = ["audio/opus", "video/vp8", "video/h264"];

export interface WhipTrack {
  mid: string;
  kind: "audio" | "video";
  /** What the room is told the track is: a WHIP encoder's video and audio are its camera and microphone. */
  source: "camera" | "microphone";
  /** Simulcast rids as the offer sends them (a=simulcast send), lowest quality first as RFC 8853 lists them. */
  layers: string[];
}

/** The tracks a WHIP offer publishes (every sending audio/video m-line), or why it cannot publish. */
export function whipTracks(offer: string): { tracks: WhipTrack[] } | { refused: string } {
  if (!offer.startsWith("v=0")) return { refused: "the body is not an SDP offer: it must start with v=0" };
  const limit = publishOfferRefusal(offer);
  if (limit !== undefined) return { refused: limit };
  let parsed: SessionDescription;
  try {
    parsed = SessionDescription.parse(acceptBundleOnly(offer));
  } catch (e) {
    return { refused: `the SDP offer could not be parsed: ${(e as Error).message}` };
  }
  const tracks: WhipTrack[] = [];
  for (const media of parsed.media) {
    if (media.kind !== "audio" && media.kind !== "video") continue;
    if (media.direction !== "sendonly" && media.direction !== "sendrecv") continue;
    const mid = media.rtp.muxId!;
    if (!media.rtp.codecs.some((c) => FORWARDED_CODECS.includes(c.mimeType.toLowerCase()))) {
      const offered = media.rtp.codecs.map((c) => c.mimeType).join(", ") || "none";
      return { refused: `m-line "${mid}" (${media.kind}) offers ${offered}; the relay forwards Opus, VP8 and H264 only` };
    }
    const layers = media.simulcastParameters.filter((p) => p.direction === "send").map((p) => String(p.rid));
    tracks.push({ mid, kind: media.kind, source: media.kind === "audio" ? "microphone" : "camera", layers });
  }
  if (tracks.length === 0) return { refused: "the offer sends no audio or video: a WHIP offer has sendonly audio and/or video m-lines" };
  return { tracks };
}

/** What a PATCH body (application/trickle-ice-sdpfrag) says: new ICE credentials (an ICE restart) and candidates. */
export interface SdpFragment {
  ufrag: string | undefined;
  pwd: string | undefined;
  candidates: string[];
}

/** The fragment's ICE lines, or why it is not an sdpfrag. Only `a=` and `m=` lines may appear. */
export function parseSdpFragment(text: string): SdpFragment | { refused: string } {
  const fragment: SdpFragment = { ufrag: undefined, pwd: undefined, candidates: [] };
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    if (!/^[am]=/.test(line)) return { refused: `"${line.slice(0, 60)}" is not a line of an SDP fragment (RFC 8840: only a= and m= lines)` };
    const ufrag = /^a=ice-ufrag:(\S+)$/.exec(line);
    const pwd = /^a=ice-pwd:(\S+)$/.exec(line);
    if (ufrag) fragment.ufrag = ufrag[1];
    else if (pwd) fragment.pwd = pwd[1];
    else if (line.startsWith("a=candidate:")) fragment.candidates.push(line.slice(2));
  }
  if ((fragment.ufrag === undefined) !== (fragment.pwd === undefined)) return { refused: "an ICE restart fragment has both a=ice-ufrag and a=ice-pwd" };
  return fragment;
}

/**
 * The offer again with the restart's ICE credentials, for the publisher connection to answer: an ICE
 * restart is an offer whose only change is its credentials (RFC 8839 4.4.1.1.1). Candidates of the old
 * session are dropped; the relay is ICE-lite and needs none.
 */
export function withIceCredentials(offer: string, ufrag: string, pwd: string): string {
  return offer
    .replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${ufrag}`)
    .replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${pwd}`)
    .replace(/^a=(candidate:|end-of-candidates).*\r?\n/gm, "");
}

/**
 * The answer's ICE part as the sdpfrag a restart PATCH is answered with (RFC 9725 4.4.2): the relay's
 * new credentials and candidates, on the BUNDLE transport (the answer's first m-line).
 */
export function iceFragmentOf(answer: string): string {
  const [session, first] = answer.split(/\r?\n(?=m=)/);
  const lines = [
    ...(session!.match(/^a=(ice-lite|ice-options:.*|group:BUNDLE .*)$/gm) ?? []),
    first!.split(/\r?\n/, 1)[0]!,
    ...(first!.match(/^a=(mid|ice-ufrag|ice-pwd|candidate):.*$/gm) ?? []),
    "a=end-of-candidates",
  ];
  return lines.map((l) => l.replace(/\r$/, "")).join("\r\n") + "\r\n";
}

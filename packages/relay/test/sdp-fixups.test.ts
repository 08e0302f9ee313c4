import { describe, expect, it } from "vitest";
import { asJsepOffer, withoutSimulcastSsrcs } from "../src/rtc/sdp-fixups.ts";

// The shape of a Firefox simulcast offer (abridged): rids and a=simulcast, plus a=ssrc lines per layer.
const FIREFOX_OFFER = [
  "v=0", "o=mozilla...THIS_IS_SDPARTA 1 0 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 109", "a=mid:0", "a=sendonly", "a=ssrc:1111 cname:{a}",
  "m=video 9 UDP/TLS/RTP/SAVPF 120", "a=mid:1", "a=sendonly", "a=rid:q send", "a=rid:h send", "a=rid:f send",
  "a=simulcast:send q;h;f", "a=ssrc:2222 cname:{a}", "a=ssrc:3333 cname:{a}", "a=ssrc:4444 cname:{a}",
  "a=ssrc-group:FID 2222 5555", "",
].join("\r\n");

describe("withoutSimulcastSsrcs", () => {
  it("drops a=ssrc and a=ssrc-group lines from simulcast m-sections only", () => {
    const out = withoutSimulcastSsrcs(FIREFOX_OFFER);
    expect(out).toContain("a=ssrc:1111 cname:{a}"); // audio keeps its SSRC
    expect(out).not.toMatch(/a=ssrc:(2222|3333|4444)/);
    expect(out).not.toContain("a=ssrc-group");
    expect(out).toContain("a=simulcast:send q;h;f\r\n");
    expect(out.endsWith("\r\n")).toBe(true);
    expect(out.split("\r\n").filter((l) => l.startsWith("m=")).length).toBe(2);
  });

  it("leaves offers without simulcast alone", () => {
    const plain = FIREFOX_OFFER.replace(/a=simulcast:[^\r]*\r\n/, "");
    expect(withoutSimulcastSsrcs(plain)).toBe(plain);
  });
});

// The shape of a werift re-offer (abridged): its role instead of actpass, a fresh session id, and a
// rejected m-section without a=rtcp-mux.
const WERIFT_REOFFER = [
  "v=0", "o=- 87944211 0 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=setup:passive", "a=sendonly", "a=mid:0", "a=rtcp-mux",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=setup:passive", "a=mid:1", "a=sctp-port:5000",
  "m=video 0 UDP/TLS/RTP/SAVPF 96", "a=setup:passive", "a=inactive", "a=mid:2", "a=rtpmap:96 VP8/90000", "",
].join("\r\n");

describe("asJsepOffer", () => {
  const out = asJsepOffer(WERIFT_REOFFER, { sessionId: "4242", version: 7 });
  const lines = out.split("\r\n");

  it("says actpass in every m-section and carries the connection's o= session id and version", () => {
    expect(lines.filter((l) => l.startsWith("a=setup:"))).toEqual(["a=setup:actpass", "a=setup:actpass", "a=setup:actpass"]);
    expect(lines[1]).toBe("o=- 4242 7 IN IP4 0.0.0.0");
  });

  it("gives a rejected m-section a=rtcp-mux after its mid, once, and leaves the others as they were", () => {
    const video = lines.slice(lines.indexOf("m=video 0 UDP/TLS/RTP/SAVPF 96"));
    expect(video.slice(0, 6)).toEqual(["m=video 0 UDP/TLS/RTP/SAVPF 96", "a=setup:actpass", "a=inactive", "a=mid:2", "a=rtcp-mux", "a=rtpmap:96 VP8/90000"]);
    expect(lines.filter((l) => l === "a=rtcp-mux")).toHaveLength(2);
    expect(asJsepOffer(out, { sessionId: "4242", version: 7 })).toBe(out);
    expect(out.endsWith("\r\n")).toBe(true);
  });
});

describe("asJsepOffer on a rejected audio m-section", () => {
  // What werift writes for a stopped audio m-line: RED alone, naming an Opus payload type not listed.
  const rejected = [
    "v=0", "o=- 1 0 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 1",
    "m=audio 0 UDP/TLS/RTP/SAVPF 63", "a=setup:passive", "a=inactive", "a=mid:0", "a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111",
    "m=audio 9 UDP/TLS/RTP/SAVPF 63 111", "a=setup:passive", "a=sendonly", "a=mid:1", "a=rtcp-mux",
    "a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111", "a=rtpmap:111 opus/48000/2", "",
  ].join("\r\n");
  const lines = asJsepOffer(rejected, { sessionId: "1", version: 1 }).split("\r\n");

  it("lists the Opus that RED names instead of RED alone, and leaves live m-sections' RED alone", () => {
    const first = lines.slice(lines.indexOf("a=group:BUNDLE 1") + 1, lines.indexOf("m=audio 9 UDP/TLS/RTP/SAVPF 63 111"));
    expect(first).toEqual(["m=audio 0 UDP/TLS/RTP/SAVPF 111", "a=setup:actpass", "a=inactive", "a=mid:0", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2"]);
    expect(lines.slice(lines.indexOf("m=audio 9 UDP/TLS/RTP/SAVPF 63 111"))).toContain("a=fmtp:63 111/111");
  });
});

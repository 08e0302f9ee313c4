import { describe, expect, it } from "vitest";
import { withoutSimulcastSsrcs } from "../src/rtc/sdp-fixups.ts";

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

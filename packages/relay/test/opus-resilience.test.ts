import { describe, expect, it } from "vitest";
import { withOpusResilience } from "../src/rtc/opus-resilience.ts";

const answer = [
  "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=0;stereo=1",
  "a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111",
  "m=audio 9 UDP/TLS/RTP/SAVPF 109", "a=rtpmap:109 OPUS/48000/2",
  "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", "a=fmtp:96 x-google-start-bitrate=1500", "",
].join("\r\n");

describe("withOpusResilience", () => {
  it("sets useinbandfec=1 and usedtx=1 on every Opus payload type, keeping its other parameters, and nothing else", () => {
    const out = withOpusResilience(answer);
    expect(out).toContain("a=fmtp:111 minptime=10;stereo=1;useinbandfec=1;usedtx=1\r\n");
    expect(out).toContain("a=rtpmap:109 OPUS/48000/2\r\na=fmtp:109 useinbandfec=1;usedtx=1\r\n");
    expect(out).toContain("a=fmtp:63 111/111\r\n");
    expect(out).toContain("a=fmtp:96 x-google-start-bitrate=1500\r\n");
    expect(out.split("\r\n").length).toBe(answer.split("\r\n").length + 1);
  });

  it("is idempotent and leaves SDP without audio alone", () => {
    const once = withOpusResilience(answer);
    expect(withOpusResilience(once)).toBe(once);
    const videoOnly = answer.slice(0, answer.indexOf("m=audio")) + answer.slice(answer.indexOf("m=video"));
    expect(withOpusResilience(videoOnly)).toBe(videoOnly);
  });
});

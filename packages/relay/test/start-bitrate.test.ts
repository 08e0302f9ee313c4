import { describe, expect, it } from "vitest";
import { withStartBitrate } from "../src/rtc/start-bitrate.ts";

const answer = [
  "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 102 97", "a=rtpmap:96 VP8/90000", "a=rtpmap:102 H264/90000",
  "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96", "",
].join("\r\n");

describe("withStartBitrate", () => {
  it("adds x-google-start-bitrate to every video codec, not to audio or RTX", () => {
    const out = withStartBitrate(answer, 1500);
    expect(out).toContain("a=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=1500\r\n");
    expect(out).toContain("a=fmtp:102 packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1500\r\n");
    expect(out).toContain("a=fmtp:97 apt=96\r\n");
    expect(out).toContain("a=fmtp:111 minptime=10\r\n");
    expect(out.split("\r\n").length).toBe(answer.split("\r\n").length + 1);
  });

  it("is idempotent and leaves SDP without video alone", () => {
    const once = withStartBitrate(answer, 1500);
    expect(withStartBitrate(once, 1500)).toBe(once);
    const audioOnly = answer.slice(0, answer.indexOf("m=video"));
    expect(withStartBitrate(audioOnly, 1500)).toBe(audioOnly);
  });
});

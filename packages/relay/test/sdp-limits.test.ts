import { describe, expect, it } from "vitest";
import { PROTOCOL_LIMITS } from "@sfu-room/protocol";
import { countMLines, MAX_PUBLISH_OFFER_MLINES, publishOfferRefusal, subscriberAnswerRefusal } from "../src/rtc/sdp-limits.ts";

const HEAD = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0"];
/** An SDP with `n` audio m-lines, mids 0..n-1. */
function sdpWith(n: number): string {
  const media = Array.from({ length: n }, (_, i) => [`m=audio 9 UDP/TLS/RTP/SAVPF 111`, `a=mid:${i}`, "a=sendonly"]).flat();
  return [...HEAD, ...media, ""].join("\r\n");
}

describe("countMLines", () => {
  it("counts lines that start with m=, and nothing else", () => {
    expect(countMLines(sdpWith(0))).toBe(0);
    expect(countMLines(sdpWith(3))).toBe(3);
    expect(countMLines("m=audio 9 RTP/AVP 0\nm=video 9 RTP/AVP 96\n")).toBe(2); // LF only, first line
    expect(countMLines("v=0\r\na=fmtp:96 m=1\r\ns=m=\r\n")).toBe(0); // "m=" inside other lines
  });
});

describe("publishOfferRefusal", () => {
  it("accepts offers up to the ceiling: the most tracks a participant can have, plus a few", () => {
    expect(MAX_PUBLISH_OFFER_MLINES).toBeGreaterThan(PROTOCOL_LIMITS.tracksPerParticipant);
    expect(publishOfferRefusal(sdpWith(2))).toBeUndefined();
    expect(publishOfferRefusal(sdpWith(MAX_PUBLISH_OFFER_MLINES))).toBeUndefined();
  });

  it("refuses more m-lines, and over-long SDP, saying what the limit is", () => {
    expect(publishOfferRefusal(sdpWith(MAX_PUBLISH_OFFER_MLINES + 1))).toBe(
      `the publish offer has ${MAX_PUBLISH_OFFER_MLINES + 1} m-lines; the relay accepts at most ${MAX_PUBLISH_OFFER_MLINES}`,
    );
    expect(publishOfferRefusal(sdpWith(1000))).toMatch(/has 1000 m-lines; the relay accepts at most \d+/);
    const long = sdpWith(1) + "a=x:" + "y".repeat(PROTOCOL_LIMITS.sdpLength);
    expect(publishOfferRefusal(long)).toMatch(new RegExp(`is ${long.length} characters long; the relay accepts at most ${PROTOCOL_LIMITS.sdpLength}`));
  });
});

describe("publishOfferRefusal, mids", () => {
  it("refuses an m-line without a=mid, naming it", () => {
    const offer = sdpWith(3).replace("a=mid:1\r\n", "");
    expect(publishOfferRefusal(offer)).toBe("m-line 1 of the publish offer has no a=mid line; every m-line needs one");
    expect(publishOfferRefusal(sdpWith(3).replace(/\r\n/g, "\n"))).toBeUndefined(); // LF-only SDP is read the same
  });
});

describe("subscriberAnswerRefusal", () => {
  it("accepts an answer with exactly the offer's m-lines", () => {
    expect(subscriberAnswerRefusal(sdpWith(3), sdpWith(3))).toBeUndefined();
  });

  it("refuses fewer or more m-lines than the offer, naming both counts", () => {
    expect(subscriberAnswerRefusal(sdpWith(2), sdpWith(3))).toMatch(/answer has 2 m-lines, but the offer it answers has 3/);
    expect(subscriberAnswerRefusal(sdpWith(1000), sdpWith(3))).toMatch(/answer has 1000 m-lines, but the offer it answers has 3/);
  });

  it("without an offer in flight checks only the length (the answer is stale anyway)", () => {
    expect(subscriberAnswerRefusal(sdpWith(500), undefined)).toBeUndefined();
    expect(subscriberAnswerRefusal("v=0" + " ".repeat(PROTOCOL_LIMITS.sdpLength), undefined)).toMatch(/characters long/);
  });
});

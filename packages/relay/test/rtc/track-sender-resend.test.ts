/**
 * A resend on the media SSRC (the subscriber declined RTX) is the first send byte for byte: one SRTP
 * index never protects two different packets (with AES-GCM a second AAD under the same nonce gives
 * away the authentication key, RFC 7714 section 8.4). FastTrackSender with werift's sender stood in
 * for by the fields it reads, and a path that keeps what it was given to protect.
 */
import { describe, expect, it } from "vitest";
import { RTP_EXTENSION_URI, type RTCRtpSender } from "werift";
import { SRTP_HEADROOM } from "../../src/media/srtp-cipher.ts";
import { FastTrackSender } from "../../src/rtc/fast-send/track-sender.ts";
import type { SubscriberPath } from "../../src/rtc/fast-send/subscriber-path.ts";

function sender() {
  const transport = { transportSequenceNumber: 100, state: "connected" };
  const fake = {
    dtlsTransport: transport,
    codec: { payloadType: 96 },
    stopped: false,
    redRedundantPayloadType: undefined,
    ssrc: 0x1234_5678,
    rtxSsrc: 0x1234_5679,
    headerExtensions: [
      { id: 1, uri: RTP_EXTENSION_URI.sdesMid },
      { id: 2, uri: RTP_EXTENSION_URI.absSendTime },
      { id: 3, uri: RTP_EXTENSION_URI.transportWideCC },
    ],
    mid: "1",
    rtpTimestamp: 0,
    packetCount: 0,
    octetCount: 0,
    headerBytesSent: 0,
    rtcpRunning: true,
    runRtcp: async () => undefined,
    ntpTimestamp: 0n,
  };
  const sent: Buffer[] = [];
  const path = {
    ready: () => true,
    buffer: (size: number) => Buffer.alloc(size),
    send: (_t: unknown, buf: Buffer, _h: number, length: number) => {
      sent.push(Buffer.from(buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + length)));
      return length;
    },
  };
  return { fast: new FastTrackSender(fake as unknown as RTCRtpSender, path as unknown as SubscriberPath), transport, sent, internals: fake };
}

const packet = (seq: number) => ({ seq, timestamp: seq * 3000, marker: false, payload: Buffer.from(`payload ${seq}`), audioLevel: -1 });

describe("a resend without RTX", () => {
  it("repeats the first send's bytes, abs-send-time and transport-wide seq included, and takes no new transport-wide seq", async () => {
    const { fast, transport, sent } = sender();
    for (let seq = 10; seq < 20; seq++) expect(fast.send(packet(seq))).toBe("sent");
    const first = sent[3]!; // seq 13
    const transportSeq = transport.transportSequenceNumber;
    await new Promise((r) => setTimeout(r, 20)); // abs-send-time moves on (3.8 µs units)
    expect(fast.send(packet(13), true)).toBe("sent");
    expect(sent.at(-1)!.equals(first)).toBe(true);
    expect(transport.transportSequenceNumber).toBe(transportSeq);
    expect(fast.resentTransportSeq).toBe(104); // seq 13 went out 4th, after transport-wide seq 100: the feedback forgets 104
  });

  it("leaves the sender report's RTP timestamp at the newest packet's", () => {
    const { fast, internals } = sender();
    for (let seq = 10; seq < 20; seq++) fast.send(packet(seq));
    fast.send(packet(12), true);
    expect(internals.rtpTimestamp).toBe(19 * 3000);
  });

  it("drops a second forward of a seq already sent (a publisher's duplicate): under a new header it would reuse the SRTP index", () => {
    const { fast, sent } = sender();
    for (let seq = 10; seq < 20; seq++) fast.send(packet(seq));
    const count = sent.length;
    expect(fast.send(packet(15))).toBe("dropped");
    expect(sent.length).toBe(count);
  });

  it("is not sent at all when the first send is no longer in the history", () => {
    const { fast, sent } = sender();
    fast.send(packet(1));
    for (let seq = 2; seq < 2 + 600; seq++) fast.send(packet(seq));
    const count = sent.length;
    expect(fast.send(packet(1), true)).toBe("dropped");
    expect(fast.send(packet(7), true)).toBe("dropped"); // its slot holds seq 519 now
    expect(sent.length).toBe(count);
  });
});

/**
 * Pacing toward a subscriber with real werift peers (docs/quality.md, "Pacing"): once the subscriber
 * has told the relay its downlink (REMB), a burst from the publisher reaches it spread over time at
 * 2.5 x that estimate, every packet byte for byte, in order; audio sent in the middle of the burst is
 * not held behind it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback } from "werift";
import type { RunningRelay } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";

const ESTIMATE_BPS = 200_000;
const BURST = 25;
const PAYLOAD_BYTES = 1000;

describe("pacing toward a subscriber", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("spreads a burst at 2.5x the subscriber's estimate, every packet intact and in order; audio is not held behind it", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const pub = await joinClient(relay, "pace", "pub", log);
    const sub = await joinClient(relay, "pace", "sub", log);
    clients.push(pub, sub);
    const [audio, video] = await pub.publish([{ kind: "audio" }, { kind: "video", payloadBytes: PAYLOAD_BYTES }]);
    // Until the subscriber's connection is up, one packet of each track every 50 ms.
    const warmUp = setInterval(() => {
      video!.sendPacket();
      audio!.sendPacket();
    }, 50);
    try {
      await eventually("the subscriber receives both tracks", () => (sub.received.get(video!.trackId)?.packets ?? 0) > 0 && (sub.received.get(audio!.trackId)?.packets ?? 0) > 0);
    } finally {
      clearInterval(warmUp);
    }

    // When each packet arrives, by track.
    const arrivals = new Map<string, number[]>([[video!.trackId, []], [audio!.trackId, []]]);
    for (const transceiver of sub.subscriber!.getTransceivers()) {
      const trackId = [...sub.received.values()].find((r) => r.kind === transceiver.kind)!.trackId;
      transceiver.receiver.tracks.forEach((t) => t.onReceiveRtp.subscribe(() => arrivals.get(trackId)?.push(performance.now())));
    }
    // The subscriber's downlink: 200 kbit/s (REMB), so 500 kbit/s of pacing, 62.5 bytes a millisecond.
    const sender = sub.subscriber!.getTransceivers().find((t) => t.kind === "video")!.receiver;
    const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, brExp: 0, brMantissa: ESTIMATE_BPS, ssrcNum: 1, ssrcFeedbacks: [sub.received.get(video!.trackId)!.ssrcs.values().next().value!] });
    await sender.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]);
    await sleep(200);

    for (const times of arrivals.values()) times.length = 0; // from the burst on
    const before = sub.received.get(video!.trackId)!.packets;
    const gapsBefore = sub.received.get(video!.trackId)!.seqGaps;
    for (let i = 0; i < BURST; i++) {
      video!.sendPacket();
      if (i === Math.floor(BURST / 2)) audio!.sendPacket(); // in the middle of the burst
    }
    const received = () => sub.received.get(video!.trackId)!;
    await eventually("the whole burst reaches the subscriber", () => received().packets - before === BURST);
    expect(received().mismatches).toBe(0);
    expect(received().seqGaps).toBe(gapsBefore); // in order, none dropped
    expect(relay.stats().pacerDropped).toBe(0);

    // 24 packets after the first, each about 1000 bytes of payload at 62.5 bytes/ms: about 400 ms (seen:
    // 382 ms). A burst that is not paced crosses loopback in a few milliseconds (seen: 5 ms).
    const burst = arrivals.get(video!.trackId)!;
    expect(burst.at(-1)! - burst[0]!).toBeGreaterThan(250);
    // The audio packet, sent after half the burst, arrives before its first quarter has: it did not
    // wait its turn behind the video.
    const [audioAt] = arrivals.get(audio!.trackId)!;
    expect(audioAt).toBeLessThan(burst[Math.floor(BURST / 4)]!);
  });
});

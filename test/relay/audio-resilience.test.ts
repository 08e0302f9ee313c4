/**
 * Opus resilience through the relay with real werift peers (docs/quality.md, "Audio"):
 * - the relay's answer asks every publisher for in-band FEC and DTX, and its subscriber offers say the
 *   same, whatever the client offered;
 * - the relay's receiver reports toward a publisher carry the loss its audio really had on the way in,
 *   which is what a publisher's Opus encoder sizes its FEC by;
 * - RED (RFC 2198): a subscriber that negotiated it receives RED, one that did not receives the plain
 *   Opus frames, byte for byte, whether the publisher sent RED or not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RtcpRrPacket, type RtcpReceiverInfo } from "werift";
import type { RunningRelay } from "@sfu-room/relay";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";

/** The fmtp parameters of the Opus payload type in an SDP's audio section, by name. */
function opusFmtp(sdp: string): Record<string, string> {
  const pt = /^a=rtpmap:(\d+) opus\//im.exec(sdp)?.[1];
  const line = pt === undefined ? undefined : new RegExp(`^a=fmtp:${pt} (.*)$`, "m").exec(sdp)?.[1];
  return Object.fromEntries((line ?? "").split(";").filter(Boolean).map((p) => p.trim().split("=") as [string, string]));
}

describe("audio resilience", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("asks the publisher for in-band FEC and DTX, keeps its other Opus parameters, and offers the same to subscribers", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const pub = await joinClient(relay, "opus", "pub", log);
    const sub = await joinClient(relay, "opus", "sub", log);
    clients.push(pub, sub);
    await pub.publish([{ kind: "audio" }]);
    // The werift publisher offered Opus with no fmtp at all: the relay's answer still asks for both.
    expect(opusFmtp(pub.lastPublisherAnswer)).toMatchObject({ useinbandfec: "1", usedtx: "1" });
    await eventually("the subscriber is offered the audio", () => /^m=audio [1-9]/m.test(sub.lastSubscriberOffer));
    expect(opusFmtp(sub.lastSubscriberOffer)).toEqual({ minptime: "10", useinbandfec: "1", usedtx: "1" });
  });

  it("reports to the publisher exactly the audio packets lost on the way in", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const pub = await joinClient(relay, "opus", "pub", log);
    clients.push(pub);
    const [audio] = await pub.publish([{ kind: "audio" }]);
    const sender = pub.publisher!.getTransceivers().find((t) => t.kind === "audio")!.sender;
    const reports: RtcpReceiverInfo[] = [];
    sender.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpRrPacket) reports.push(...packet.reports.filter((r) => r.ssrc === sender.ssrc));
    });
    await pub.connected();
    // 50 packets a second; one in ten is lost on the way (its sequence number skipped), 12 in all.
    let lost = 0;
    timer = setInterval(() => {
      if (audio!.sent % 10 === 5 && lost < 12) {
        audio!.losePackets(1);
        lost++;
      }
      audio!.sendPacket();
    }, 20);
    await eventually("every loss happened", () => lost === 12);
    await sleep(100);
    const before = reports.length;
    await eventually("a receiver report counts all 12 losses", () => reports.slice(before).some((r) => r.packetsLost === 12), 10_000);
    // The fraction lost (of 256) covers the packets since the previous report: 1 of 11 while losing.
    expect(reports.some((r) => r.fractionLost >= 13 && r.fractionLost <= 52)).toBe(true);
    expect(reports.every((r) => r.packetsLost <= 12)).toBe(true);
  });

  for (const publisherRed of [true, false]) {
    it(`forwards ${publisherRed ? "a RED publisher's RED" : "plain Opus"} as RED to a subscriber that negotiated RED and as plain Opus to one that did not, byte for byte`, async () => {
      relay = await startTestRelay();
      const log: SentLog = new Map();
      const pub = new WeriftClient({ name: "pub", log, red: publisherRed });
      const redSub = new WeriftClient({ name: "red", log, red: true });
      const plainSub = new WeriftClient({ name: "plain", log });
      clients.push(pub, redSub, plainSub);
      for (const c of clients) {
        await c.connect(relay.signalUrl);
        await c.join("red");
      }
      const [audio] = await pub.publish([{ kind: "audio" }]);
      // The relay's answer prefers RED when the publisher offered it (libwebrtc sends RED only then).
      expect(/^m=audio \d+ \S+ (\d+)/m.exec(pub.lastPublisherAnswer)?.[1]).toBe(publisherRed ? "63" : "111");
      audio!.audioLevel = 30; // -30 dBov: speech
      await pub.connected();
      const pacer = new Pacer(() => [pub]);
      pacer.start();
      const got = (c: WeriftClient) => c.received.get(audio!.trackId);
      await eventually("both subscribers receive 100 frames", () => [redSub, plainSub].every((c) => (got(c)?.packets ?? 0) >= 100));
      await pacer.stop();
      // Every packet the relay sent the RED subscriber was RED, with the publisher's redundant frame
      // when it sent one; werift split it into its Opus frames.
      expect(redSub.redPacketsReceived).toBeGreaterThanOrEqual(100);
      if (publisherRed) expect(redSub.redundantRedPacketsReceived).toBeGreaterThanOrEqual(99);
      else expect(redSub.redundantRedPacketsReceived).toBe(0);
      expect(plainSub.redPacketsReceived).toBe(0);
      // The publisher's audio level travels on with the frames taken out of RED (werift's own RED
      // splitting, which the relay bypasses and the RED subscriber's werift still does, drops it).
      expect(got(plainSub)!.lastAudioLevel).toBe(30);
      for (const c of [redSub, plainSub]) {
        const rec = got(c)!;
        expect(rec.mismatches, `${c.options.name}: frames equal to what the publisher encoded`).toBe(0);
        // Every frame from the first one received on, none missing.
        const indices = [...rec.indices.get(audio!.tag)!].sort((a, b) => a - b);
        expect(indices.at(-1)! - indices[0]! + 1).toBe(indices.length);
      }
    }, 20_000);
  }
});

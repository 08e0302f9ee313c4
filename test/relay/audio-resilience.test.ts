/**
 * Opus resilience through the relay with real werift peers (docs/quality.md, "Audio"):
 * - the relay's answer asks every publisher for in-band FEC and DTX, and its subscriber offers say the
 *   same, whatever the client offered;
 * - the relay's receiver reports toward a publisher carry the loss its audio really had on the way in,
 *   which is what a publisher's Opus encoder sizes its FEC by.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RtcpRrPacket, type RtcpReceiverInfo } from "werift";
import type { RunningRelay } from "@sfu-room/relay";
import { type SentLog, type WeriftClient } from "@sfu-room/test-peer";
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
});

/**
 * REMB toward publishers with real werift peers (docs/quality.md, "REMB toward publishers"):
 * - a publisher that does only REMB (abs-send-time, goog-remb, no transport-cc, as aiortc) gets REMB
 *   from the relay naming its SSRC, starting at the start bitrate and then held near what it sends;
 * - a video without simulcast is capped for its viewers: a viewer whose REMB says 400 kbit/s makes
 *   the publisher's REMB exactly 85 % of it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback } from "werift";
import type { RunningRelay } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Scrape } from "../support/scrape.ts";

/** Every REMB the publisher's connection receives: [bits/s, SSRCs it names]. */
function watchRembs(client: WeriftClient): Array<{ bitsPerSecond: number; ssrcs: number[] }> {
  const seen: Array<{ bitsPerSecond: number; ssrcs: number[] }> = [];
  client.publisher!.dtlsTransports[0]!.onRtcp.subscribe((packet) => {
    if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback instanceof ReceiverEstimatedMaxBitrate) {
      seen.push({ bitsPerSecond: Number(packet.feedback.bitrate), ssrcs: [...packet.feedback.ssrcFeedbacks] });
    }
  });
  return seen;
}

/** Sends the relay a REMB on the viewer's subscriber connection for the SSRC it receives a track on. */
async function sendRemb(viewer: WeriftClient, trackId: string, bitsPerSecond: number): Promise<void> {
  const ssrc = [...viewer.received.get(trackId)!.ssrcs][0]!;
  let brExp = 0;
  let brMantissa = bitsPerSecond;
  while (brMantissa >= 1 << 18) {
    brMantissa /= 2;
    brExp++;
  }
  const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: 1, brExp, brMantissa, ssrcFeedbacks: [ssrc] });
  await viewer.subscriber!.dtlsTransports[0]!.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]);
}

describe("REMB toward publishers", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("a REMB-only publisher gets the relay's receive estimate: its SSRC named, held near what it sends", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const pub = new WeriftClient({ name: "pub", log, rembOnly: true });
    clients.push(pub);
    await pub.connect(relay.signalUrl);
    await pub.join("remb", false);
    const [video] = await pub.publish([{ kind: "video", payloadBytes: 1000 }]);
    expect(pub.lastPublisherAnswer).toMatch(/abs-send-time/);
    expect(pub.lastPublisherAnswer).not.toMatch(/transport-wide-cc/);
    const rembs = watchRembs(pub);
    timer = setInterval(() => video!.sendPacket(), 20); // ~400 kbit/s of payload
    await eventually("REMBs for 3 s", () => rembs.length >= 4);
    const ssrc = pub.publisher!.getTransceivers()[0]!.sender.ssrc;
    expect(rembs.every((r) => r.ssrcs.join() === String(ssrc))).toBe(true);
    expect(rembs[0]!.bitsPerSecond).toBe(1_500_000); // the start, before anything was measured
    // Once measured: at most 1.5 x what arrives (~410 kbit/s with headers) + 10 kbit/s, and not below what flows.
    const later = rembs.slice(2).map((r) => r.bitsPerSecond);
    expect(Math.max(...later)).toBeLessThan(1.5 * 440_000 + 10_000);
    expect(Math.min(...later)).toBeGreaterThan(300_000);
    const scrape = await Scrape.of(relay);
    expect(scrape.value("sfu_rembs_to_publishers_total")).toBeGreaterThanOrEqual(rembs.length);
  });

  it("a video without simulcast is capped for a slow viewer: the publisher's REMB is 85 % of the viewer's", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const pub = new WeriftClient({ name: "pub", log, transportCc: true });
    clients.push(pub);
    await pub.connect(relay.signalUrl);
    await pub.join("remb", false);
    const [video] = await pub.publish([{ kind: "video", payloadBytes: 1000 }]);
    const viewer = await joinClient(relay, "remb", "viewer", log);
    clients.push(viewer);
    const rembs = watchRembs(pub);
    timer = setInterval(() => video!.sendPacket(), 20);
    await eventually("the viewer receives the video", () => (viewer.received.get(video!.trackId)?.packets ?? 0) > 10);
    expect(rembs).toEqual([]); // a transport-cc publisher estimates its uplink itself: no REMB until a viewer caps it
    await sendRemb(viewer, video!.trackId, 400_000);
    await eventually("a REMB reaches the publisher", () => rembs.length > 0);
    expect(rembs[0]!.bitsPerSecond).toBe(340_000);
    expect(rembs[0]!.ssrcs).toEqual([pub.publisher!.getTransceivers()[0]!.sender.ssrc]); // the SSRC it sends on
  });
});

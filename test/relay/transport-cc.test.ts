/**
 * Transport-cc toward publishers: a werift publisher that offers transport-wide sequence numbers (as
 * browsers do) gets transport-cc feedback from the relay covering every packet it sent, audio and
 * video, each sequence number once and none lost on loopback, with arrival times that move forward.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RtcpTransportLayerFeedback, RunLengthChunk, StatusVectorChunk, TransportWideCC } from "werift";
import type { RunningRelay } from "@sfu-room/relay";
import { WeriftClient } from "@sfu-room/test-peer";
import { eventually, sleep, startTestRelay } from "../support/relay-harness.ts";

/** One feedback's packet statuses, decoded independently of the relay's own reader. */
function statuses(fb: TransportWideCC): Array<{ seq: number; received: boolean }> {
  const symbols = fb.packetChunks.flatMap((c) =>
    c instanceof RunLengthChunk ? Array<number>(c.runLength).fill(c.packetStatus) : c instanceof StatusVectorChunk ? c.symbolList : [],
  );
  return symbols.slice(0, fb.packetStatusCount).map((s, i) => ({ seq: (fb.baseSequenceNumber + i) & 0xffff, received: s === 1 || s === 2 }));
}

describe("transport-cc feedback to publishers", () => {
  let relay: RunningRelay | undefined;
  let pub: WeriftClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await pub?.close();
    await relay?.close();
  });

  it("reports every transport-wide sequence number the publisher sent, once, received", async () => {
    relay = await startTestRelay();
    pub = new WeriftClient({ name: "pub", log: new Map(), transportCc: true });
    await pub.connect(relay.signalUrl);
    await pub.join("twcc", false);
    const [audio, video] = await pub.publish([{ kind: "audio" }, { kind: "video", payloadBytes: 900 }]);
    expect(pub.lastPublisherAnswer).toMatch(/a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/);

    const transport = pub.publisher!.dtlsTransports[0]!;
    const reported = new Map<number, number>(); // seq -> times reported received
    let lost = 0;
    const feedbackCounts: number[] = [];
    transport.onRtcp.subscribe((packet) => {
      if (!(packet instanceof RtcpTransportLayerFeedback) || !(packet.feedback instanceof TransportWideCC)) return;
      feedbackCounts.push(packet.feedback.fbPktCount);
      for (const { seq, received } of statuses(packet.feedback)) {
        if (received) reported.set(seq, (reported.get(seq) ?? 0) + 1);
        else lost++;
      }
    });
    timer = setInterval(() => {
      audio!.sendPacket();
      video!.sendPacket();
    }, 20);
    await eventually("feedback for 200 packets", () => reported.size >= 200);
    clearInterval(timer);
    await sleep(300); // the last feedback interval
    const sent = transport.transportSequenceNumber; // the last one the publisher used
    const seqs = [...reported.keys()].sort((a, b) => a - b);
    // Every sequence number from the first reported up to the last sent, each once, none lost.
    expect(seqs.at(-1)).toBe(sent);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect([...reported.values()].every((n) => n === 1)).toBe(true);
    expect(lost).toBe(0);
    // One generator: the feedback count runs 0, 1, 2, ... with no second sender interleaved.
    expect(feedbackCounts).toEqual(feedbackCounts.map((_, i) => i));
  });
});

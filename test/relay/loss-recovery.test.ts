/**
 * Loss recovery through the relay with real werift peers (docs/quality.md, "Loss recovery"):
 * - packets lost on the way in are NACKed by the relay on their own simulcast layer's SSRC, only
 *   those, and the publisher's resends reach the subscriber byte for byte;
 * - packets lost on the way out are resent by the relay itself from its history, byte for byte, as
 *   RTX where the subscriber accepted it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RELAY_CONFIG, type RelayConfig, type RunningRelay } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { eventually, joinClient, SEND_PATHS, sleep, startTestRelay } from "../support/relay-harness.ts";
import { Scrape } from "../support/scrape.ts";

describe("loss recovery", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("NACKs a simulcast publisher for exactly the packets lost on the forwarded layer; the resends reach the subscriber", async () => {
    relay = await startTestRelay({ core: { ...DEFAULT_RELAY_CONFIG.core, keyframeRequestIntervalMs: 100 } });
    const log: SentLog = new Map();
    const pub = await joinClient(relay, "loss", "pub", log);
    const track = await pub.publishSimulcast(["q", "h", "f"], [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }]);
    const sub = await joinClient(relay, "loss", "sub", log);
    clients.push(pub, sub);
    const top = track.layers[2]!;
    const lostSeqs: number[] = [];
    const lostIndices: number[] = [];
    // The top layer's sequence numbers wrap 65535 -> 0 a few seconds in, and four packets around the wrap
    // are lost (werift's tracker compared sequence numbers without wrap).
    top.seq = 65535 - 250;
    timer = setInterval(() => {
      if (top.seq === 65533) {
        lostSeqs.push(65533, 65534, 65535, 0);
        lostIndices.push(top.sent, top.sent + 1, top.sent + 2, top.sent + 3);
        track.withhold(2, 4);
      }
      track.sendFrame();
    }, 10);
    const received = () => sub.received.get(track.trackId)?.indices.get(top.tag)?.size ?? 0;
    await eventually("the subscriber receives the top layer", () => received() > 20);
    // Only the top layer is wanted now (dynacast pauses the others): the losses are all on it.
    await eventually("the lower layers paused", () => [...track.wanted].join() === "f");
    await eventually("the top layer's sequence numbers wrapped, past the losses around it", () => top.seq > 10 && top.seq < 1000);

    for (const n of [1, 3, 2, 1]) {
      for (let i = 0; i < n; i++) {
        lostSeqs.push((top.seq + i) & 0xffff);
        lostIndices.push(top.sent + i);
      }
      track.withhold(2, n);
      await sleep(150);
    }
    const lastIndex = top.sent;
    const rec = () => sub.received.get(track.trackId)!;
    await eventually("every packet up to the last loss reached the subscriber", () => {
      const got = rec().indices.get(top.tag)!;
      return lostIndices.every((i) => got.has(i)) && got.has(lastIndex - 1);
    });
    expect(rec().mismatches).toBe(0);
    // Every NACK named the top layer's SSRC and only packets that were lost (werift's one tracker for
    // all layers NACKed packets that never went missing).
    expect(new Set(track.nacks.map((n) => n.ssrc))).toEqual(new Set([top.ssrc]));
    expect([...new Set(track.nacks.flatMap((n) => n.seqs))].sort((a, b) => a - b)).toEqual([...lostSeqs].sort((a, b) => a - b));
  });

  /** A publisher's video to a subscriber who loses 5% of what the relay sends it; what reached it, and how. */
  async function lossyDownlink(rtx: boolean, sendPath: Partial<RelayConfig>): Promise<{ missing: number; expected: number; mismatches: number; rtxPackets: number }> {
    relay = await startTestRelay(sendPath);
    const log: SentLog = new Map();
    const pub = await joinClient(relay, "loss", "pub", log);
    // 5% of what the relay sends this subscriber is dropped on arrival (werift's debug option).
    const sub = new WeriftClient({ name: "sub", log, inboundLoss: 0.05, rtx });
    clients.push(pub, sub);
    await sub.connect(relay.signalUrl);
    await sub.join("loss", true);
    const [video] = await pub.publish([{ kind: "video" }]);
    timer = setInterval(() => video!.sendPacket(), 10);
    await eventually("the subscriber receives video", () => (sub.received.get(video!.trackId)?.packets ?? 0) > 20);
    const from = video!.sent;
    await sleep(3000);
    const to = video!.sent - 10; // the last few may still be on their way or just lost
    await sleep(500);
    const rec = sub.received.get(video!.trackId)!;
    const got = rec.indices.get(video!.tag)!;
    let missing = 0;
    for (let i = from; i < to; i++) if (!got.has(i)) missing++;
    return { missing, expected: to - from, mismatches: rec.mismatches, rtxPackets: sub.rtxPacketsReceived };
  }

  describe.each(SEND_PATHS)("on the %s send path", (_path, sendPath) => {
    it("resends packets lost on the way to a subscriber from its own history, byte for byte, on the media SSRC without RTX", async () => {
      const { missing, expected, mismatches, rtxPackets } = await lossyDownlink(false, sendPath);
      // Without resends about 5% (some 15 packets) would be missing; a resend is lost again 5% of the
      // time too, and the subscriber's NACK of it may come late: at most 2% stays missing.
      expect(missing).toBeLessThanOrEqual(Math.floor(expected * 0.02));
      expect(mismatches).toBe(0);
      expect(relay!.stats().retransmits).toBeGreaterThan(0);
      expect((await Scrape.of(relay!)).value("sfu_retransmits_total")).toBeGreaterThan(0); // what an operator sees
      expect(rtxPackets).toBe(0); // its answer left RTX out
    });

    it("resends as RTX (RFC 4588) to a subscriber whose answer accepts it; unwrapped, the bytes are the originals", async () => {
      const { missing, expected, mismatches, rtxPackets } = await lossyDownlink(true, sendPath);
      expect(missing).toBeLessThanOrEqual(Math.floor(expected * 0.02));
      expect(mismatches).toBe(0);
      expect(rtxPackets).toBeGreaterThan(0);
      expect(rtxPackets).toBeLessThanOrEqual(relay!.stats().retransmits);
    });
  });
});

/**
 * Simulcast through the relay with werift peers: a publisher sends three layers (own SSRC, sequence and
 * timestamp spaces, key frames on request); each subscriber receives exactly one layer, chosen by its
 * wish, as one continuous stream across switches; hidden tiles get nothing; the publisher is told
 * which layers anyone needs (dynacast).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, SEND_PATHS, sleep, startTestRelay } from "../support/relay-harness.ts";
import type { ReceivedTrack, SentLog, SimulcastTrack, WeriftClient } from "@sfu-room/test-peer";

const SIZES = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
];

describe("simulcast", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  /** The layer a subscriber is receiving now (from the last run of payload tags), or -1. */
  const currentLayer = (track: SimulcastTrack, rec: ReceivedTrack | undefined) => {
    const run = rec?.tagRuns.at(-1);
    return run === undefined ? -1 : track.layerOfTag(run.tag);
  };

  // On both send paths: a switch changes the SSRC's source (another layer's packets, rewritten), which the
  // subscriber's SRTP must go on decrypting with one rollover counter.
  it.each(SEND_PATHS)("each subscriber gets only its layer; switches are keyframe-gated and seamless; hidden means nothing; dynacast follows (%s send path)", async (_path, sendPath) => {
    relay = await startTestRelay({ ...sendPath, core: { ...(await import("@sfu-room/relay")).DEFAULT_RELAY_CONFIG.core, keyframeRequestIntervalMs: 100 } });
    const log: SentLog = new Map();
    const pub = await joinClient(relay, "sim", "pub", log);
    const track = await pub.publishSimulcast(["q", "h", "f"], SIZES);
    // Nobody watches yet: nothing is wanted.
    await eventually("told that no layer is wanted", () => track.wanted.size === 0);
    const low = await joinClient(relay, "sim", "low", log);
    const high = await joinClient(relay, "sim", "high", log);
    clients.push(pub, low, high);
    timer = setInterval(() => track.sendFrame(), 15);
    const settings = async (c: WeriftClient, s: Record<string, unknown>) => {
      const reply = await c.request({ type: "subscription-settings", id: c.id(), trackId: track.trackId, ...s });
      expect(reply.type).toBe("ok");
    };
    await settings(low, { quality: "low" });
    await settings(high, { quality: "high" });
    await eventually("dynacast: q and f wanted", () => [...track.wanted].sort().join() === "f,q");
    await eventually("each gets its layer", () => currentLayer(track, low.received.get(track.trackId)) === 0 && currentLayer(track, high.received.get(track.trackId)) === 2);
    await sleep(300);

    // low -> high -> low on one subscriber, several times; auto by tile size at the end.
    const plan: Array<[Record<string, unknown>, number]> = [
      [{ quality: "high" }, 2], [{ quality: "low" }, 0], [{ quality: "medium" }, 1], [{ quality: "auto", width: 300, height: 170 }, 0],
      [{ width: 1200, height: 700 }, 2],
    ];
    for (const [s, layer] of plan) {
      await settings(low, s);
      await eventually(`switched to layer ${layer}`, () => currentLayer(track, low.received.get(track.trackId)) === layer);
      await sleep(200);
    }
    const rec = low.received.get(track.trackId)!;
    expect(rec.seqGaps).toBe(0); // one continuous stream across every switch
    expect(rec.ssrcs.size).toBe(1);
    expect(rec.mismatches).toBe(0);
    expect(rec.tagRuns.map((r) => track.layerOfTag(r.tag))).toEqual([0, 2, 0, 1, 0, 2]); // one layer at a time, no interleaving
    expect(rec.tagRuns.every((r) => r.firstKey)).toBe(true); // every switch starts at a key frame
    expect(high.received.get(track.trackId)!.tagRuns.map((r) => track.layerOfTag(r.tag))).toEqual([2]);

    // Hidden: the relay stops sending to that subscriber; visible again: video comes back.
    await settings(high, { visible: false });
    await sleep(300);
    const frozen = high.received.get(track.trackId)!.packets;
    await sleep(500);
    expect(high.received.get(track.trackId)!.packets).toBe(frozen);
    await settings(high, { visible: true });
    await eventually("video comes back", () => high.received.get(track.trackId)!.packets > frozen + 10);
    expect(high.received.get(track.trackId)!.seqGaps).toBe(0);
  });
});

/**
 * The publisher leg's congestion control in headless Chromium:
 *
 *   node --import tsx --test browser/e2e/transport-cc.e2e.ts
 *
 * A publisher page sends its 1280x720 fake camera in three simulcast layers; one subscriber wants
 * high. With the relay's transport-cc feedback, Chromium's send-side estimate toward the relay
 * (`availableOutgoingBitrate` of the publisher connection's candidate pair) exists and stays bounded
 * by what was delivered, where without feedback it grew 8% a second without end (450 Mbit/s seen, issue 12);
 * and the start-bitrate ramp stays fast: the full layer encodes at 1280x720 within seconds.
 * The subscriber leg: the viewer's Chromium sends transport-cc feedback for what the relay forwards
 * (the relay's own estimate for it), and on this clean link that estimate keeps it on the full layer.
 * Time limits are generous liveness bounds (2-core machine), not performance claims.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "puppeteer-core";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { makeY4m } from "../support/y4m.ts";
import { eventually, type Harness, startHarness } from "./harness.ts";
import { publisherLayers, remoteVideo } from "./simulcast-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = `twcc-${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The publisher connection's send estimate (bits/s), or undefined while Chromium has none. Self-contained (serialized into the page). */
async function uplinkEstimate(): Promise<number | undefined> {
  const pc = (document.querySelector("sfu-room") as SfuRoomElement).session!.peerConnections.publisher;
  let estimate: number | undefined;
  (await pc?.getStats())?.forEach((s) => {
    if (s.type === "candidate-pair" && s.state === "succeeded" && typeof s.availableOutgoingBitrate === "number") estimate = s.availableOutgoingBitrate;
  });
  return estimate;
}

describe("transport-cc toward a Chromium publisher", { timeout: 240_000 }, () => {
  let h: Harness;
  let pub: Page;
  let viewer: Page;

  before(async () => {
    // Busy content (it changes every frame, as camera noise does): the encoder uses all it is given.
    const y4m = makeY4m(`${ARTIFACTS}fake-1280x720-20fps-busy.y4m`, 1280, 720, 20, 20, true);
    h = await startHarness({ distDir: `${ARTIFACTS}demo-dist-transport-cc`, y4m });
    pub = await h.openDemo(h.chromium, "Publisher", ROOM, { params: { simulcast: "", audio: "off" } });
    viewer = await h.openDemo(h.chromium, "Viewer", ROOM, { params: { audio: "off", video: "off", quality: "high" } });
  });

  after(async () => {
    await h?.close();
  });

  it("the publisher's estimate exists, the full layer ramps up fast, and the estimate stops growing", async () => {
    const started = Date.now();
    // The viewer wants high: dynacast keeps only the full layer on, and it must reach 1280x720 quickly.
    await eventually("the full layer at 1280x720", () => pub.evaluate(publisherLayers), (ls) => ls.some((l) => l.rid === "f" && l.active && l.frameWidth === 1280 && (l.framesPerSecond ?? 0) > 0), 20_000);
    const rampMs = Date.now() - started;
    const first = await eventually("an uplink estimate", () => pub.evaluate(uplinkEstimate), (e) => e !== undefined && e > 0, 20_000);
    const samples: number[] = [first!];
    for (let i = 0; i < 20; i++) {
      await sleep(1000);
      const estimate = await pub.evaluate(uplinkEstimate);
      if (estimate !== undefined) samples.push(estimate); // Chromium's stats skip it now and then
    }
    const full = (await pub.evaluate(publisherLayers)).find((l) => l.rid === "f");
    console.log(`full layer at 1280x720 after ${rampMs} ms; at the end ${full?.frameWidth}x${full?.frameHeight} ${full?.framesPerSecond} fps ${Math.round((full?.bitrate ?? 0) / 1000)} kbit/s`);
    console.log(`uplink estimate (kbit/s) each second: ${samples.map((s) => Math.round(s / 1000)).join(" ")}`);
    assert.ok(samples.length >= 16 && samples.every((s) => Number.isFinite(s) && s > 0), `an estimate (nearly) every second: ${samples.length} of 21`);
    // Bounded: after the first 10 s the estimate stops growing (GCC caps it near what was delivered).
    // Without feedback it climbed 8% a second for as long as the call lasted.
    const earlyPeak = Math.max(...samples.slice(0, 10));
    const latePeak = Math.max(...samples.slice(10));
    assert.ok(latePeak <= earlyPeak * 1.2, `estimate stops growing (peak ${Math.round(earlyPeak / 1000)} kbit/s in the first 10 s, ${Math.round(latePeak / 1000)} after)`);
    // And, most of the time, high enough for the full layer on a clean link.
    const median = [...samples].sort((a, b) => a - b)[samples.length >> 1]!;
    assert.ok(median > 1_000_000, `estimate carries the full layer (median ${Math.round(median / 1000)} kbit/s)`);
  });

  it("the viewer's transport-cc feedback reaches the relay, whose estimate keeps it on the full layer", async () => {
    const feedback = async (direction: string) => {
      const text = await (await fetch(`http://127.0.0.1:${h.relay.port}/metrics`)).text();
      return Number(new RegExp(`^sfu_transport_cc_feedback_total\\{direction="${direction}"\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
    };
    const before = { from: await feedback("from-subscribers"), to: await feedback("to-publishers") };
    const shown = await eventually("the viewer decodes 1280x720", () => viewer.evaluate(remoteVideo), (v) => v?.frameWidth === 1280, 20_000);
    await sleep(5000);
    const after = { from: await feedback("from-subscribers"), to: await feedback("to-publishers") };
    const still = await viewer.evaluate(remoteVideo);
    console.log(`transport-cc feedback in 5+ s: ${after.from - before.from} from the viewer, ${after.to - before.to} to the publisher; viewer at ${still?.frameWidth}, ${still?.framesDecoded! - shown!.framesDecoded} frames decoded`);
    assert.ok(after.from - before.from > 20, "the viewer sends transport-cc feedback the relay matches to its packets");
    assert.ok(after.to - before.to > 20, "the publisher gets feedback (every 50 ms while packets arrive)");
    assert.equal(still?.frameWidth, 1280, "a clean link keeps the full layer");
  });
});

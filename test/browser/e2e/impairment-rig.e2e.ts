/**
 * The impaired-network rig is what it claims (issue 12's impaired-network test and table rely on it):
 * a publisher's and a subscriber's Chromium, each in a namespace of its own, exchange all their media
 * with the relay through the impairment forwarder, and its link conditions act on that media.
 *
 *   node --import tsx --test browser/e2e/impairment-rig.e2e.ts
 *
 * Shown: the forwarder carried at least every byte the publisher sent and the subscriber received,
 * through the relay and in a direct call between the two pages;
 * 100% loss on the subscriber's downlink, then on the publisher's uplink, stops the subscriber's video
 * (no other path exists) and it decodes again once lifted; a 300 kbit/s downlink cap holds what the
 * subscriber receives under 300 kbit/s. As root (it re-runs itself in a namespace, see
 * browser/impaired/rig.ts); without root it is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "./harness.ts";
import { sampleMedia } from "../impaired/media-sample.ts";
import { measurePhase } from "../impaired/measure.ts";
import { type Call, enterRigNamespace, type Rig, startRig } from "../impaired/rig.ts";

const inside = await enterRigNamespace();

describe("the impaired-network rig", { timeout: 180_000, skip: inside ? false : "needs root for network namespaces" }, () => {
  let rig: Rig;
  let call: Call;

  before(async () => {
    rig = await startRig();
    call = await rig.relayCall("rig");
  });

  after(async () => {
    await call?.close().catch(() => undefined);
    await rig?.close();
  });

  it("every byte of the call's video passes the forwarder: the publisher's uplink, the subscriber's downlink", async () => {
    await eventually("the subscriber receives 200 kB of video", () => call.subscriber.evaluate(sampleMedia), (s) => s.bytesReceived > 200_000, 30_000);
    await call.verifyRoute();
  });

  for (const [side, direction] of [["subscriber", "down"], ["publisher", "up"]] as const) {
    it(`100% loss on the ${side}'s ${direction}link stops the video, and it decodes again once lifted`, async () => {
      await rig.impair(side, direction, { loss: 1 });
      // What was already in flight, in the jitter buffer or queued at the relay may still play for a
      // while; with no other path the video then stops (2 s without a decoded frame) and stays stopped.
      try {
        await eventually("the video stops", () => measurePhase(rig, call, "cut", 2), (cut) => cut.fps === 0, 20_000, 0);
      } finally {
        await rig.impair(side, direction, {});
      }
      const before = (await call.subscriber.evaluate(sampleMedia)).framesDecoded;
      await eventually("the subscriber decodes again", () => call.subscriber.evaluate(sampleMedia), (s) => s.framesDecoded > before + 20, 30_000);
    });
  }

  it("a 300 kbit/s cap on the subscriber's downlink holds what it receives under 300 kbit/s", async () => {
    await rig.impair("subscriber", "down", { rateBps: 300_000 });
    try {
      const capped = await measurePhase(rig, call, "capped", 4, { side: "subscriber", direction: "down" });
      assert.ok(capped.receivedKbps < 300, `received ${capped.receivedKbps.toFixed(0)} kbit/s through a 300 kbit/s link`);
      assert.ok(capped.receivedKbps > 0, "nothing received through the capped link");
    } finally {
      await rig.restore();
    }
  });

  it("a direct call between the two pages (the table's reference) passes the forwarder too: the publisher's uplink, the subscriber's downlink", async () => {
    // The relay call ends first: its media on the same links would cover for a direct call that bypassed them.
    await call.close();
    await new Promise((r) => setTimeout(r, 1_000));
    const direct = await rig.directCall();
    try {
      await eventually("the direct call's subscriber receives 300 kB of video", () => direct.subscriber.evaluate(sampleMedia), (s) => s.bytesReceived > 300_000, 30_000);
      await direct.verifyRoute();
    } finally {
      await direct.close();
    }
  });
});

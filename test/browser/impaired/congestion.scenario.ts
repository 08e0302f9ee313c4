/**
 * Issue 12's impaired-network acceptance test: a Chromium publisher (simulcast, the fake camera at
 * 1280x720, 20 fps) and a Chromium subscriber (quality="high") through the relay; 15 s clean, then the
 * subscriber's downlink at 500 kbit/s, restored, the publisher's uplink at 500 kbit/s, restored.
 * Under each cap the video must keep decoding (frame rate within half the clean run's, under 10% of
 * the time without a new frame), the relay must not push much more than the link carries into it
 * (resolution drops instead of the queue overflowing), and once the link is restored the video must
 * return to the clean resolution and frame rate.
 *
 *   npm run test:impaired        (as root: network namespaces; see rig.ts)
 *
 * `npm test` runs it with the e2e suite (scripts/test-browser.mjs); docs/impaired-networks.md has runs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { describePhase, measurePhase, type PhaseResult } from "./measure.ts";
import { type Call, enterRigNamespace, type Rig, type Side, startRig } from "./rig.ts";

const CLEAN_S = 15;
const IMPAIRED_S = 20;
/** After a restore: time to ramp back up, then the part that must look like the clean run. */
const RAMP_S = 10;
const RECOVERED_S = 10;
const CAP_BPS = 500_000;

const inside = await enterRigNamespace();

describe("a call through the relay over a 500 kbit/s link", { timeout: 300_000, skip: inside ? false : "needs root for network namespaces" }, () => {
  let rig: Rig;
  let call: Call;
  let clean: PhaseResult;

  before(async () => {
    rig = await startRig();
    call = await rig.relayCall("impaired");
    clean = await measurePhase(rig, call, "clean", CLEAN_S);
    console.log(describePhase(clean));
    await call.verifyRoute();
    assert.ok(clean.fps > 5, `the clean run must decode to judge the others: ${describePhase(clean)}`);
  });

  after(async () => {
    await call?.close().catch(() => undefined);
    await rig?.close();
  });

  for (const [side, direction] of [["subscriber", "down"], ["publisher", "up"]] as const satisfies Array<[Side, "up" | "down"]>) {
    // Downlink: the relay chooses the layer, so the resolution must drop. Uplink: the publishing browser
    // chooses (layers off, or a lower bitrate for the same size: Chromium keeps 720p of its fake camera).
    const lowered = side === "subscriber" ? "at a lower resolution" : "at a lower bitrate";
    it(`the ${side}'s ${direction}link at 500 kbit/s: the video keeps decoding ${lowered}, and recovers when it is restored`, async () => {
      await rig.impair(side, direction, { rateBps: CAP_BPS });
      let capped: PhaseResult;
      try {
        capped = await measurePhase(rig, call, `${side} ${direction}link 500 kbit/s`, IMPAIRED_S, { side, direction });
      } finally {
        await rig.restore();
      }
      const ramp = await measurePhase(rig, call, "restored, ramping up", RAMP_S);
      const recovered = await measurePhase(rig, call, "restored", RECOVERED_S);
      for (const r of [capped, ramp, recovered]) console.log(describePhase(r));

      assert.ok(capped.fps >= clean.fps / 2, `frame rate under the cap: ${capped.fps.toFixed(1)} fps against ${clean.fps.toFixed(1)} clean`);
      assert.ok(capped.stalledS <= IMPAIRED_S * 0.1, `${capped.stalledS.toFixed(1)} s of ${IMPAIRED_S} without a new frame`);
      if (side === "subscriber") assert.ok(capped.height < clean.height, `the relay sent a lower layer under the cap: ${capped.height}p against ${clean.height}p clean`);
      assert.ok(capped.link!.offeredKbps <= 1.5 * (CAP_BPS / 1000), `${capped.link!.offeredKbps.toFixed(0)} kbit/s offered to a 500 kbit/s link (${capped.link!.droppedPct.toFixed(0)}% dropped)`);
      assert.ok(recovered.fps >= clean.fps / 2, `frame rate after the restore: ${recovered.fps.toFixed(1)} fps against ${clean.fps.toFixed(1)} clean`);
      assert.equal(recovered.endHeight, clean.height, "the resolution after the restore is the clean run's");
    });
  }
});

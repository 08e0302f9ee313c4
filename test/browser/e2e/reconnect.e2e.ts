/**
 * End to end in headless Chromium: staying in the call. Two demo pages in one room, then
 * - the relay restarted mid-call (same port, every session gone): both pages rejoin by themselves
 *   (`rejoined`, never `left`), show "Reconnecting…" meanwhile, and decode each other again;
 * - the signaling connection cut for 3 s (a TCP proxy between the pages and the relay's HTTP/WebSocket
 *   port resets every connection and refuses new ones): both pages resume (`resumed`, not `rejoined`),
 *   keep their participant ids, and the remote tiles never leave the page (a MutationObserver counts
 *   removed tiles) while the video keeps being decoded.
 *
 *   cd test && node --import tsx --test browser/e2e/reconnect.e2e.ts
 *
 * Time limits are generous liveness bounds, not performance claims.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "puppeteer-core";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { startTcpProxy, type TcpProxy } from "../../support/tcp-proxy.ts";
import { makeY4m } from "../support/y4m.ts";
import { eventually, type Harness, startHarness } from "./harness.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const CAMERA_ONLY = { audio: "off" };

interface Watch {
  /** The element's reconnection events, in order (with "banner" when Reconnecting… was shown). */
  events: string[];
  /** Remote tiles removed from the element's shadow DOM since watching began. */
  removedRemoteTiles: number;
  /** performance.now() of the first `reconnecting` and of `resumed`/`rejoined` (for the log, not asserted). */
  at: Record<string, number>;
}

/** Starts recording, in the page, the element's reconnection events and every remote tile removed. */
function watch(page: Page): Promise<void> {
  return page.evaluate(() => {
    const el = document.querySelector("sfu-room") as SfuRoomElement;
    const w = window as unknown as { watch: Watch };
    w.watch = { events: [], removedRemoteTiles: 0, at: {} };
    for (const type of ["reconnecting", "resumed", "rejoined", "left"] as const) {
      el.addEventListener(type, () => {
        w.watch.events.push(type);
        w.watch.at[type] ??= performance.now();
        if (type === "reconnecting") {
          void el.updateComplete.then(() => {
            if (el.shadowRoot!.querySelector('[part="reconnecting"][role="status"]')) w.watch.events.push("banner");
          });
        }
      });
    }
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of Array.from(r.removedNodes)) {
          if (!(n instanceof HTMLElement)) continue;
          const tiles = n.matches(".tile") ? [n] : Array.from(n.querySelectorAll(".tile"));
          w.watch.removedRemoteTiles += tiles.filter((t) => !t.hasAttribute("data-self")).length;
        }
      }
    }).observe(el.shadowRoot!, { childList: true, subtree: true });
  });
}

const watched = (page: Page) => page.evaluate(() => (window as unknown as { watch: Watch }).watch);

/** What a page knows: its status, its id, and the frames it decoded of each remote camera, by participant id. */
const look = (page: Page) =>
  page.evaluate(async () => {
    const el = document.querySelector("sfu-room") as SfuRoomElement;
    const room = el.session;
    const frames: Record<string, number> = {};
    for (const p of room?.participants.values() ?? []) frames[p.id] = (await p.cameraTrack?.getStats())?.framesDecoded ?? 0;
    const banner = el.shadowRoot!.querySelector('[part="reconnecting"]') !== null;
    return { status: el.status, id: room?.local.id ?? "", frames, banner };
  });

/** Waits until `page` decodes more frames of `otherId` than it had (or any, the first time). */
async function decodesMore(page: Page, otherId: () => Promise<string>, than = 0): Promise<number> {
  const id = await otherId();
  const seen = await eventually(`decoding ${id}`, () => look(page), (l) => (l.frames[id] ?? 0) > than, 45_000);
  return seen.frames[id]!;
}

/** Logs how long each page was reconnecting (a measurement for the record, not a claim). */
async function logGap(what: string, pages: Record<string, Page>, end: "resumed" | "rejoined"): Promise<void> {
  for (const [name, page] of Object.entries(pages)) {
    const { at } = await watched(page);
    console.log(`[reconnect] ${what}: ${name} reconnecting -> ${end} in ${Math.round(at[end]! - at.reconnecting!)} ms`);
  }
}

async function decodeEachOther(ada: Page, bob: Page): Promise<void> {
  const idOf = (page: Page) => async () => (await look(page)).id;
  for (const [viewer, other] of [[ada, bob], [bob, ada]] as const) {
    const first = await decodesMore(viewer, idOf(other));
    await decodesMore(viewer, idOf(other), first); // still growing
  }
}

describe("staying in the call", { timeout: 300_000 }, () => {
  let h: Harness;
  let proxy: TcpProxy | undefined;
  before(async () => {
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    h = await startHarness({ distDir: `${ARTIFACTS}demo-dist-reconnect`, y4m });
  });
  after(async () => {
    await proxy?.close();
    await h?.close();
  });

  it("the relay restarted mid-call: both pages rejoin by themselves and decode each other again", async () => {
    const room = `restart-${Date.now().toString(36)}`;
    const ada = await h.openDemo(h.chromium, "Ada", room, { params: CAMERA_ONLY });
    const bob = await h.openDemo(h.chromium, "Bob", room, { params: CAMERA_ONLY });
    await decodeEachOther(ada, bob);
    const before = { ada: (await look(ada)).id, bob: (await look(bob)).id };
    await watch(ada);
    await watch(bob);

    await h.restartRelay();

    for (const page of [ada, bob]) {
      await eventually("rejoined", () => watched(page), (w) => w.events.includes("rejoined"), 60_000);
    }
    await logGap("relay restart", { ada, bob }, "rejoined");
    await decodeEachOther(ada, bob);
    for (const [name, page] of [["ada", ada], ["bob", bob]] as const) {
      const { events } = await watched(page);
      assert.equal(events[0], "reconnecting", `${name}: ${events}`);
      assert.ok(events.includes("banner"), `${name} showed Reconnecting… (${events})`);
      assert.ok(!events.includes("left") && !events.includes("resumed"), `${name}: ${events}`);
      const now = await look(page);
      assert.equal(now.status, "joined");
      assert.equal(now.banner, false, `${name}: the banner is gone`);
      assert.notEqual(now.id, before[name], "a rejoin is a new session");
      assert.equal(Object.keys(now.frames).length, 1, `${name} sees one other participant, not a ghost: ${JSON.stringify(now.frames)}`);
    }
  });

  it("the signaling cut for 3 s: both pages resume without rejoining, and the remote tiles never vanish", async () => {
    proxy = await startTcpProxy(h.relay.port);
    const server = `ws://127.0.0.1:${proxy.port}/ws`;
    const room = `cut-${Date.now().toString(36)}`;
    const ada = await h.openDemo(h.chromium, "Ada", room, { params: { ...CAMERA_ONLY, server } });
    const bob = await h.openDemo(h.chromium, "Bob", room, { params: { ...CAMERA_ONLY, server } });
    await decodeEachOther(ada, bob);
    const before = { ada: (await look(ada)).id, bob: (await look(bob)).id };
    await watch(ada);
    await watch(bob);

    await proxy.cut(3_000);

    for (const page of [ada, bob]) {
      await eventually("resumed", () => watched(page), (w) => w.events.includes("resumed"), 60_000);
    }
    await logGap("3 s signaling cut", { ada, bob }, "resumed");
    await decodeEachOther(ada, bob);
    for (const [name, page] of [["ada", ada], ["bob", bob]] as const) {
      const { events, removedRemoteTiles } = await watched(page);
      assert.equal(events[0], "reconnecting", `${name}: ${events}`);
      assert.ok(!events.includes("rejoined") && !events.includes("left"), `${name}: ${events}`);
      assert.equal(removedRemoteTiles, 0, `${name}: no remote tile left the page`);
      const now = await look(page);
      assert.equal(now.status, "joined");
      assert.equal(now.id, before[name], "a resume keeps the participant id");
    }
  });
});

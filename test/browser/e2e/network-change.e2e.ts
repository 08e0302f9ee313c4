/**
 * A participant whose network address changes mid-call (Wi-Fi to cellular) stays in the call: its
 * peer connections restart ICE from the new address, without a rejoin (issue 11).
 *
 *   node --import tsx --test browser/e2e/network-change.e2e.ts
 *
 * As root the test re-runs itself in a network namespace of its own, where the relay and Ada's
 * browser live (10.215.0.1). It makes a second namespace for Grace's browser, joined to the first by a
 * veth pair: Grace starts at 10.215.1.2 and moves to 10.215.2.3 (another network) mid-call, the old address removed, as
 * a phone's would be. Her browser runs in that namespace (`ip netns exec`), driven over a pipe since
 * its DevTools port is not reachable from here. Without root it is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { canCreateNamespace, insideNamespace, type NamespaceSpec, reexecInNamespace } from "@sfu-room/netns";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { eventually } from "./harness.ts";
import { elementPage } from "./element-page.ts";
import { probe, selectedPairs, type PageProbe } from "./page-probe.ts";

const RELAY_SIDE: NamespaceSpec = { marker: "SFU_TEST_NETNS_NETWORK_CHANGE", address: "10.215.0.1", veth: ["nc-lo0", "nc-lo1"] };
/** Grace's namespace and the veth pair to it. */
const CLIENT_NS = "sfu-test-network-change";
const VETH = { here: "nc0", there: "nc1" } as const;
/** Grace's first and second networks: her address and its gateway (our end of the veth has both). */
const FIRST = { address: "10.215.1.2", gateway: "10.215.1.1" } as const;
const SECOND = { address: "10.215.2.3", gateway: "10.215.2.1" } as const;
const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));

const inNamespace = insideNamespace(RELAY_SIDE);
if (!inNamespace && canCreateNamespace()) {
  // What the test installs goes in out here: the namespace has no route to Debian's mirrors.
  ensureBrowser(CHROMIUM_PATH, "chromium");
  process.exit(await reexecInNamespace(RELAY_SIDE));
}

function sh(command: string): void {
  execFileSync("sh", ["-c", command], { stdio: ["ignore", "ignore", "inherit"] });
}

/** Grace's namespace: a veth to here, her first address, a default route through us. */
function makeClientNamespace(): void {
  sh(`ip netns add ${CLIENT_NS}`);
  sh(`ip link add ${VETH.here} type veth peer name ${VETH.there} netns ${CLIENT_NS}`);
  sh(`ip addr add ${FIRST.gateway}/24 dev ${VETH.here} && ip addr add ${SECOND.gateway}/24 dev ${VETH.here} && ip link set ${VETH.here} up`);
  const inside = `ip netns exec ${CLIENT_NS}`;
  sh(`${inside} ip link set lo up && ${inside} ip addr add ${FIRST.address}/24 dev ${VETH.there} && ${inside} ip link set ${VETH.there} up`);
  sh(`${inside} ip route add default via ${FIRST.gateway} dev ${VETH.there}`);
}

/** Grace's new address comes up and the old one goes, as when a phone leaves Wi-Fi for cellular. */
function moveClient(): void {
  const inside = `ip netns exec ${CLIENT_NS}`;
  sh(`${inside} ip addr add ${SECOND.address}/24 dev ${VETH.there}`);
  sh(`${inside} ip route replace default via ${SECOND.gateway} dev ${VETH.there}`);
  sh(`${inside} ip addr del ${FIRST.address}/24 dev ${VETH.there}`);
}

/** Counts the element's reconnection events into window.__reconnection. Serialized into the page. */
function countReconnectionEvents(): void {
  const counts: Record<string, number> = { reconnecting: 0, resumed: 0, rejoined: 0, left: 0 };
  (window as unknown as { __reconnection: typeof counts }).__reconnection = counts;
  for (const type of Object.keys(counts)) document.addEventListener(type, () => counts[type]!++, { capture: true });
}

const videoFrom = (p: PageProbe, participantId: string) => p.tracks.find((t) => t.kind === "video" && t.participantId === participantId);

describe("a network change mid-call", { timeout: 180_000, skip: inNamespace ? false : "needs root for network namespaces" }, () => {
  let relay: RunningRelay;
  let site: Server;
  let here: Browser;
  let there: Browser;

  before(async () => {
    makeClientNamespace();
    relay = await startRelay(
      {
        ...structuredClone(DEFAULT_RELAY_CONFIG),
        host: RELAY_SIDE.address, port: 0, rtcBindAddress: RELAY_SIDE.address, announcedAddresses: [RELAY_SIDE.address],
        allowedOrigins: ["*"],
      },
      pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }),
    );
    site = createServer((req, res) => {
      const name = new URL(req.url ?? "/", "http://x").searchParams.get("name")?.replace(/\W/g, "") || "guest";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(`http://${RELAY_SIDE.address}:${relay.port}`, "commute", { name }));
    });
    await new Promise<void>((resolve) => site.listen(0, RELAY_SIDE.address, resolve));
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    const chromium = ensureBrowser(CHROMIUM_PATH, "chromium");
    // Pages come from 10.215.0.1 over http: let the camera work there as on localhost.
    const args = [...chromiumArgs({ y4m }), `--unsafely-treat-insecure-origin-as-secure=${siteOrigin()}`];
    here = await puppeteer.launch({ executablePath: chromium, headless: true, args, protocolTimeout: 60_000 });
    const wrapper = `${ARTIFACTS}chromium-in-${CLIENT_NS}.sh`;
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${CLIENT_NS} ${chromium} "$@"\n`);
    chmodSync(wrapper, 0o755);
    there = await puppeteer.launch({ executablePath: wrapper, pipe: true, headless: true, args, protocolTimeout: 60_000 });
  });

  after(async () => {
    await there?.close().catch(() => undefined);
    await here?.close().catch(() => undefined);
    await relay?.close();
    await new Promise((r) => (site ? site.close(r) : r(undefined)));
    execFileSync("ip", ["netns", "del", CLIENT_NS], { stdio: "ignore" });
  });

  function siteOrigin(): string {
    return `http://${RELAY_SIDE.address}:${(site.address() as { port: number }).port}`;
  }

  async function open(browser: Browser, name: string): Promise<Page> {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument("window.__name = (f) => f");
    await page.evaluateOnNewDocument(countReconnectionEvents);
    page.on("console", (m) => m.type() === "error" && console.error(`[${name}] ${m.text()}`));
    await page.goto(`${siteOrigin()}/?name=${name}`);
    return page;
  }

  it("Grace moves to a new address: ICE restarts from it, no rejoin, and both decode each other again", async () => {
    const ada = await open(here, "Ada");
    const grace = await open(there, "Grace");
    const decoding = (p: PageProbe) => p.status === "joined" && p.tracks.some((t) => t.kind === "video" && t.framesDecoded > 0);
    const [adaBefore, graceBefore] = await Promise.all([
      eventually("Ada decodes Grace", () => ada.evaluate(probe), decoding, 40_000),
      eventually("Grace decodes Ada", () => grace.evaluate(probe), decoding, 40_000),
    ]);
    assert.deepEqual((await grace.evaluate(selectedPairs)).map((p) => p.localAddress), [FIRST.address, FIRST.address]);
    const graceId = graceBefore.participantId;
    const fromGrace = videoFrom(adaBefore, graceId)!;

    moveClient();
    const movedAt = performance.now();

    // Media back both ways, from the new address.
    const adaAfter = await eventually("Ada decodes Grace again", () => ada.evaluate(probe), (p) => (videoFrom(p, graceId)?.framesDecoded ?? 0) > fromGrace.framesDecoded + 30, 60_000);
    const fromAda = videoFrom(graceBefore, adaBefore.participantId)!;
    await eventually("Grace decodes Ada again", () => grace.evaluate(probe), (p) => (videoFrom(p, adaBefore.participantId)?.framesDecoded ?? 0) > fromAda.framesDecoded + 30, 60_000);
    await eventually("Grace's connections use her new address", async () => (await grace.evaluate(selectedPairs)).map((p) => p.localAddress), (a) => a.every((x) => x === SECOND.address), 20_000);

    // The same session throughout: same participant id, same receiving track at Ada's, no rejoin.
    const graceAfter = await grace.evaluate(probe);
    assert.equal(graceAfter.participantId, graceId, "Grace rejoined under a new participant id");
    assert.equal(videoFrom(adaAfter, graceId)!.mediaTrackId, fromGrace.mediaTrackId, "Ada's receiving track for Grace's camera was replaced");
    const counts = await grace.evaluate(() => (window as unknown as { __reconnection: Record<string, number> }).__reconnection);
    console.log(`[network-change] media back from the new address ${Math.round(performance.now() - movedAt)} ms after the move; Grace's events: ${JSON.stringify(counts)}`);
    assert.equal(counts.rejoined, 0, `Grace rejoined: ${JSON.stringify(counts)}`);
    assert.equal(counts.left, 0, `Grace left: ${JSON.stringify(counts)}`);
    await Promise.all([ada.close(), grace.close()]);
  });
});

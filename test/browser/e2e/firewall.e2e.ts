/**
 * The ways through a firewall, with headless Chromium decoding video (issue 11):
 * - UDP blocked: the pages connect to the relay over ICE-TCP, also behind 1:1 NAT; with UDP open they
 *   keep UDP;
 * - only coturn reachable (iceTransportPolicy "relay"): through TURN, with the credentials the relay
 *   minted for each participant in `joined`;
 * - a relay whose TURN secret is not coturn's: the client cannot allocate.
 *
 *   node --import tsx --test browser/e2e/firewall.e2e.ts
 *
 * As root the test re-runs itself in a network namespace of its own (one veth address, 10.214.0.1, for
 * the relay's media, coturn and the browser's host candidates). There nft drops every UDP datagram to
 * that address, except those from and to coturn's ports (its listener, its relay range): UDP between
 * the browser and the relay is blocked for real, while the browser reaches coturn and coturn the relay.
 * Without root it is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import WebSocket from "ws";
import { pino } from "pino";
import { canCreateNamespace, insideNamespace, type NamespaceSpec, reexecInNamespace } from "@sfu-room/netns";
import type { IceServer } from "@sfu-room/protocol";
import { DEFAULT_RELAY_CONFIG, type RelayConfig, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser, ensureDebianPackage } from "../support/browsers.mjs";
import { type Coturn, ensureCoturn, startCoturn } from "../../support/coturn.ts";
import { makeY4m } from "../support/y4m.ts";
import { eventually } from "./harness.ts";
import { elementPage } from "./element-page.ts";
import { probe, selectedPairs, type PageProbe } from "./page-probe.ts";

const NAMESPACE: NamespaceSpec = { marker: "SFU_TEST_NETNS_FIREWALL", address: "10.214.0.1", veth: ["fw0", "fw1"], defaultRoute: "10.214.0.254" };
const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const RELAY_PORTS: [number, number] = [45000, 45099];
const TURN_PORT = 3478;
const TURN_RELAY_PORTS: [number, number] = [49160, 49199];
const TURN_SECRET = "firewall-test-secret";
const NFT_TABLE = "sfu_firewall_test";
/** The "public" address of the NAT test: in the namespace's subnet, on no interface. */
const NAT_ADDRESS = "10.214.0.2";

const inNamespace = insideNamespace(NAMESPACE);
if (!inNamespace && canCreateNamespace()) {
  // What the test installs goes in out here: the namespace has no route to Debian's mirrors.
  ensureCoturn();
  ensureDebianPackage("/usr/sbin/nft", "nftables"); // blockUdp() and the NAT test's rules
  ensureBrowser(CHROMIUM_PATH, "chromium");
  process.exit(await reexecInNamespace(NAMESPACE));
}

/** Drops UDP to the namespace's address (the relay's and the browser's), but not to or from coturn. */
function blockUdp(): void {
  const [lo, hi] = TURN_RELAY_PORTS;
  execFileSync("nft", ["-f", "-"], {
    input: `table inet ${NFT_TABLE} {
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr ${NAMESPACE.address} udp sport { ${TURN_PORT}, ${lo}-${hi} } accept
    ip daddr ${NAMESPACE.address} udp dport { ${TURN_PORT}, ${lo}-${hi} } accept
    ip daddr ${NAMESPACE.address} meta l4proto udp counter name dropped drop
  }
  counter dropped {}
}
`,
  });
}

/**
 * 1:1 NAT as on a cloud VM: `announced` is on no interface, and packets to it are translated to the
 * namespace's address (replies back), as the provider's NAT does for a public IP.
 */
function natTo(announced: string): void {
  execFileSync("nft", ["-f", "-"], {
    input: `table ip ${NFT_TABLE}_nat {
  chain out {
    type nat hook output priority -100;
    ip daddr ${announced} dnat to ${NAMESPACE.address}
  }
}
`,
  });
}

/** UDP datagrams the rule has dropped so far. */
function droppedUdp(): number {
  const out = JSON.parse(execFileSync("nft", ["-j", "list", "counter", "inet", NFT_TABLE, "dropped"], { encoding: "utf8" })) as {
    nftables: Array<{ counter?: { packets: number } }>;
  };
  return out.nftables.find((e) => e.counter)!.counter!.packets;
}

/**
 * What this browser may use, as a page or browser policy would set it: every RTCPeerConnection it
 * makes gathers relay candidates only. Serialized into the page.
 */
function relayOnly(): void {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super({ ...config, iceTransportPolicy: "relay" });
    }
  } as typeof RTCPeerConnection;
}

/** What `sfu_selected_candidates_total` counts now, by "type/protocol". */
async function selectedCounts(relay: RunningRelay): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^sfu_selected_candidates_total\{type="(\w+)",protocol="(\w+)"\} (\d+)$/gm)) counts[`${m[1]}/${m[2]}`] = Number(m[3]);
  return counts;
}

/** The iceServers the relay gives a participant in `joined`, read over a bare WebSocket. */
async function joinedIceServers(relay: RunningRelay): Promise<IceServer[]> {
  const ws = new WebSocket(relay.signalUrl);
  try {
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const joined = new Promise<IceServer[]>((resolve) => {
      ws.on("message", (data) => {
        const m = JSON.parse(String(data)) as { type: string; iceServers?: IceServer[] };
        if (m.type === "joined") resolve(m.iceServers!);
      });
    });
    ws.send(JSON.stringify({ type: "join", id: "j", room: "credentials", name: "probe", autoSubscribe: false }));
    return await joined;
  } finally {
    ws.terminate();
  }
}

/** Gathers with these ICE servers, relay candidates only: what a client gets from the TURN server. Serialized. */
async function gatherRelay(iceServers: RTCIceServer[]): Promise<{ relayCandidates: number; errors: number[] }> {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: "relay" });
  const errors: number[] = [];
  let relayCandidates = 0;
  pc.onicecandidateerror = (e) => errors.push((e as RTCPeerConnectionIceErrorEvent).errorCode);
  pc.onicecandidate = (e) => {
    if (e.candidate?.type === "relay") relayCandidates++;
  };
  const done = new Promise<void>((resolve) => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
  });
  pc.createDataChannel("probe");
  await pc.setLocalDescription(await pc.createOffer());
  await done;
  pc.close();
  return { relayCandidates, errors };
}

describe("through firewalls: ICE-TCP and TURN", { timeout: 240_000, skip: inNamespace ? false : "needs root for a network namespace (UDP is blocked with nft inside it)" }, () => {
  let browser: Browser;
  let coturn: Coturn;
  let site: Server;
  let siteUrl = "";
  /** The relay the site's pages load and join (set by each test). */
  let current: RunningRelay | undefined;

  const startTestRelay = (overrides: Partial<RelayConfig>) =>
    startRelay(
      { ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, rtcBindAddress: NAMESPACE.address, udpPortRange: RELAY_PORTS, ...overrides },
      pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }),
    );

  /**
   * A relay with `overrides`, two pages that join it: `check` runs once each page decodes the other's
   * video. Pages and relay are closed however it ends.
   */
  async function call(overrides: Partial<RelayConfig>, options: { relayOnly: boolean }, check: (relay: RunningRelay, pages: Page[]) => Promise<void>): Promise<void> {
    const relay = (current = await startTestRelay(overrides));
    const pages: Page[] = [];
    try {
      for (const name of ["Ada", "Grace"]) {
        const page = await browser.newPage();
        pages.push(page);
        await page.evaluateOnNewDocument("window.__name = (f) => f");
        if (options.relayOnly) await page.evaluateOnNewDocument(relayOnly);
        page.on("console", (m) => m.type() === "error" && console.error(`[${name}] ${m.text()}`));
        await page.goto(`${siteUrl}/?name=${name}`);
      }
      const decoding = (p: PageProbe) => p.status === "joined" && p.tracks.some((t) => t.kind === "video" && t.framesDecoded > 0);
      const first = await Promise.all(pages.map((page, i) => eventually(`page ${i + 1} decodes the other's video`, () => page.evaluate(probe), decoding, 40_000)));
      // And it keeps decoding.
      await Promise.all(pages.map((page, i) => {
        const before = first[i]!.tracks.find((t) => t.kind === "video")!.framesDecoded;
        return eventually(`page ${i + 1} keeps decoding`, () => page.evaluate(probe), (p) => p.tracks.find((t) => t.kind === "video")!.framesDecoded > before + 10, 15_000);
      }));
      console.log(`join to first remote frame: ${first.map((p) => `${p.joinToFirstFrameMs} ms`).join(", ")}`);
      await check(relay, pages);
    } finally {
      await Promise.all(pages.map((p) => p.close().catch(() => undefined)));
      await relay.close();
      current = undefined;
    }
  }

  before(async () => {
    // Ephemeral ports (the browser's sockets) above every port the rules name: none can pass for coturn's.
    writeFileSync("/proc/sys/net/ipv4/ip_local_port_range", "50000 60999");
    coturn = await startCoturn({ listenIp: NAMESPACE.address, port: TURN_PORT, relayIp: NAMESPACE.address, relayPorts: TURN_RELAY_PORTS, secret: TURN_SECRET });
    site = createServer((req, res) => {
      const name = new URL(req.url ?? "/", "http://x").searchParams.get("name")?.replace(/\W/g, "") || "guest";
      if (!current) return void res.writeHead(503).end();
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(`http://127.0.0.1:${current.port}`, "firewall", { name }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    browser = await puppeteer.launch({
      executablePath: ensureBrowser(CHROMIUM_PATH, "chromium"), headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000,
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await coturn?.close();
    await new Promise((r) => (site ? site.close(r) : r(undefined)));
    execFileSync("sh", ["-c", `nft delete table inet ${NFT_TABLE} 2>/dev/null; nft delete table ip ${NFT_TABLE}_nat 2>/dev/null; true`]);
  });

  it("UDP open: the pages keep UDP although the relay offers TCP too", () =>
    call({}, { relayOnly: false }, async (relay, pages) => {
      for (const [i, page] of pages.entries()) {
        const pairs = await page.evaluate(selectedPairs);
        assert.deepEqual(pairs.map((p) => [p.connection, p.protocol]), [["publisher", "udp"], ["subscriber", "udp"]], `page ${i + 1}: ${JSON.stringify(pairs)}`);
      }
      assert.equal(Object.keys(await selectedCounts(relay)).some((k) => k.endsWith("/tcp")), false);
    }));

  it("UDP to the relay blocked: both pages connect over ICE-TCP and decode each other's video", async () => {
    blockUdp(); // from here on, for the TURN tests too
    const droppedBefore = droppedUdp();
    await call({}, { relayOnly: false }, async (relay, pages) => {
      for (const [i, page] of pages.entries()) {
        const pairs = await page.evaluate(selectedPairs);
        // Chromium's local side shows as prflx: its active TCP candidate (port 9) learns its real port on connect.
        assert.deepEqual(pairs.map((p) => [p.connection, p.protocol]), [["publisher", "tcp"], ["subscriber", "tcp"]], `page ${i + 1}: ${JSON.stringify(pairs)}`);
      }
      // The browser did try UDP, and the rule took it; the relay counted four TCP paths.
      assert.ok(droppedUdp() > droppedBefore, "no UDP datagram was dropped: the block was not in the way");
      const counts = await selectedCounts(relay);
      assert.equal(Object.entries(counts).filter(([k]) => k.endsWith("/tcp")).reduce((n, [, v]) => n + v, 0), 4, JSON.stringify(counts));
      assert.equal(Object.keys(counts).some((k) => k.endsWith("/udp")), false, JSON.stringify(counts));
    });
  });

  it("behind 1:1 NAT (announced address on no interface), UDP blocked: ICE-TCP connects to the listener on the bind address", async () => {
    natTo(NAT_ADDRESS);
    await call({ announcedAddresses: [NAT_ADDRESS] }, { relayOnly: false }, async (_relay, pages) => {
      for (const [i, page] of pages.entries()) {
        const pairs = await page.evaluate(selectedPairs);
        assert.deepEqual(pairs.map((p) => [p.connection, p.protocol, p.remoteAddress.split(":")[0]]), [["publisher", "tcp", NAT_ADDRESS], ["subscriber", "tcp", NAT_ADDRESS]], `page ${i + 1}: ${JSON.stringify(pairs)}`);
      }
    });
  });

  it("only TURN allowed: both pages connect through coturn with the credentials the relay minted, and decode", () =>
    call({ turn: { ...DEFAULT_RELAY_CONFIG.turn, urls: [coturn.url], secret: TURN_SECRET, ttlSeconds: 600 } }, { relayOnly: true }, async (relay, pages) => {
      for (const [i, page] of pages.entries()) {
        const pairs = await page.evaluate(selectedPairs);
        assert.deepEqual(pairs.map((p) => [p.connection, p.localType]), [["publisher", "relay"], ["subscriber", "relay"]], `page ${i + 1}: ${JSON.stringify(pairs)}`);
      }
      // coturn allocated for each connection with a minted username (expiry:participantId) and relayed.
      const allocations = coturn.log().match(/ALLOCATE processed, success/g) ?? [];
      assert.ok(allocations.length >= 4, `coturn allocations: ${allocations.length}\n${coturn.log().slice(-3000)}`);
      assert.match(coturn.log(), /username=<?\d+:P[\w-]+>?/);
      // The relay knows those paths came through its TURN server: four relayed connections in /metrics.
      assert.deepEqual(await selectedCounts(relay), { "relay/udp": 4 });
    }));

  it("a relay whose --turn-secret is not coturn's: the client is refused (401) and gets no relay candidate", async () => {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument("window.__name = (f) => f");
    try {
      for (const [secret, expectRelay] of [[TURN_SECRET, true], ["not-the-secret", false]] as const) {
        const relay = await startTestRelay({ turn: { ...DEFAULT_RELAY_CONFIG.turn, urls: [coturn.url], secret } });
        const iceServers = await joinedIceServers(relay);
        await relay.close();
        const got = await page.evaluate(gatherRelay, iceServers as RTCIceServer[]);
        if (expectRelay) assert.ok(got.relayCandidates > 0, `the right secret gives a relay candidate: ${JSON.stringify(got)}`);
        else assert.deepEqual(got, { relayCandidates: 0, errors: [401] });
      }
    } finally {
      await page.close();
    }
  });
});

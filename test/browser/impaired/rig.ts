/**
 * The impaired-network rig: a publisher's and a subscriber's Chromium, each in a network namespace of
 * its own, reach the relay (or each other, for a direct call) only through the impairment forwarder,
 * which gives each an access link with an uplink and a downlink (test/support/impairment).
 *
 *   main namespace (this process, re-run inside it as root; the relay, the forwarder, the site)
 *     10.216.0.1  the address the relay announces; the forwarder listens there on the relay's ports
 *                 and relays to the relay's sockets on 127.0.0.1
 *     10.216.1.1 --veth-- 10.216.1.2  publisher's namespace (default route via 10.216.1.1)
 *     10.216.2.1 --veth-- 10.216.2.2  subscriber's namespace (default route via 10.216.2.1)
 *
 * The relay's media sockets are bound to 127.0.0.1, which no packet from or to a browser's namespace
 * can use, and the main namespace does not route between the browsers' networks (ip_forward 0): the
 * forwarder is the only path for media. Signaling and the pages go straight to 10.216.0.1 (not
 * impaired). A direct call's pages get one ICE candidate: a forwarder route to the other's host address.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { canCreateNamespace, insideNamespace, type NamespaceSpec, reexecInNamespace } from "@sfu-room/netns";
import { DEFAULT_RELAY_CONFIG, startRelay } from "@sfu-room/relay";
import { START_BITRATE_KBPS, withStartBitrate } from "@sfu-room/relay/start-bitrate";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { elementPage } from "../e2e/element-page.ts";
import { eventually } from "../e2e/harness.ts";
import { type LinkConditions, type LinkReport, startForwarder } from "../../support/impairment/forwarder.ts";
import { recordPeerConnections, sampleMedia } from "./media-sample.ts";

const MAIN: NamespaceSpec = { marker: "SFU_TEST_NETNS_IMPAIRED", address: "10.216.0.1", veth: ["imp0", "imp1"] };
const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
/** The relay's media ports: the forwarder listens on each of them at the announced address. */
const RELAY_PORTS: [number, number] = [45000, 45011];
/** Forwarder ports for direct calls, one per call. */
const DIRECT_PORTS_FROM = 46000;

export type Side = "publisher" | "subscriber";

interface SideNetwork {
  namespace: string;
  address: string;
  gateway: string;
  veth: [string, string];
}

const NETWORKS: Record<Side, SideNetwork> = {
  publisher: { namespace: `sfu-impaired-pub-${process.pid}`, address: "10.216.1.2", gateway: "10.216.1.1", veth: ["impp0", "impp1"] },
  subscriber: { namespace: `sfu-impaired-sub-${process.pid}`, address: "10.216.2.2", gateway: "10.216.2.1", veth: ["imps0", "imps1"] },
};

/**
 * Call first: re-runs this script inside the rig's main namespace (as root) and exits with its code.
 * Returns true inside it; false when it cannot (not root).
 */
export async function enterRigNamespace(): Promise<boolean> {
  if (insideNamespace(MAIN)) return true;
  if (!canCreateNamespace()) return false;
  process.exit(await reexecInNamespace(MAIN));
}

export interface Call {
  readonly kind: "relay" | "direct";
  publisher: Page;
  subscriber: Page;
  /**
   * Throws unless, since the call began, the publisher's uplink was offered at least every byte of
   * video its page sent and the subscriber's downlink passed every byte its page received: no media
   * took another path.
   */
  verifyRoute(): Promise<void>;
  close(): Promise<void>;
}

export interface Rig {
  /** Sets one direction of a side's access link (see LinkConditions); {} makes it clean. */
  impair(side: Side, direction: "up" | "down", conditions: LinkConditions): Promise<void>;
  /** Both links clean. */
  restore(): Promise<void>;
  /** What a side's link has carried and dropped so far. */
  link(side: Side): Promise<LinkReport[string]>;
  /** Publisher (simulcast <sfu-room>, camera only) and subscriber (quality="high", nothing sent) in a new room; resolves once video decodes. */
  relayCall(room: string): Promise<Call>;
  /** The same camera sent straight to the subscriber's page over one RTCPeerConnection (one encoding), at the relay's start bitrate. */
  directCall(): Promise<Call>;
  close(): Promise<void>;
}

function sh(command: string): void {
  execFileSync("sh", ["-c", command], { stdio: ["ignore", "ignore", "inherit"] });
}

function makeSideNamespace({ namespace, address, gateway, veth: [here, there] }: SideNetwork): void {
  sh(`ip netns add ${namespace}`);
  sh(`ip link add ${here} type veth peer name ${there} netns ${namespace}`);
  sh(`ip addr add ${gateway}/24 dev ${here} && ip link set ${here} up`);
  const inside = `ip netns exec ${namespace}`;
  sh(`${inside} ip link set lo up && ${inside} ip addr add ${address}/24 dev ${there} && ${inside} ip link set ${there} up`);
  sh(`${inside} ip route add default via ${gateway} dev ${there}`);
}

async function launchIn(side: Side, args: string[]): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const wrapper = `${ARTIFACTS}chromium-in-${NETWORKS[side].namespace}.sh`;
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${NETWORKS[side].namespace} ${ensureBrowser(CHROMIUM_PATH, "chromium")} "$@"\n`);
  chmodSync(wrapper, 0o755);
  // Driven over a pipe: its DevTools port would be in its namespace.
  return puppeteer.launch({ executablePath: wrapper, pipe: true, headless: true, args, protocolTimeout: 60_000 });
}

/**
 * Bytes so far: offered to the publisher's uplink (what it sent, dropped or not) and passed by the
 * subscriber's downlink (what could reach it).
 */
async function carried(linkOf: (side: Side) => Promise<LinkReport[string]>): Promise<{ up: number; down: number }> {
  return { up: (await linkOf("publisher")).up.bytes, down: (await linkOf("subscriber")).down.passedBytes };
}

/** A call of two pages opened after the links had carried `before` (the pages' counters start at zero). */
function newCall(kind: Call["kind"], publisher: Page, subscriber: Page, linkOf: (side: Side) => Promise<LinkReport[string]>, before: { up: number; down: number }): Call {
  return {
    kind,
    publisher,
    subscriber,
    async verifyRoute() {
      const [sent, received] = await Promise.all([publisher.evaluate(sampleMedia), subscriber.evaluate(sampleMedia)]);
      // Read after the pages' counters: the links' can only have grown since. They count whole
      // datagrams (SRTP, RTCP), more than the pages' RTP payload bytes.
      const now = await carried(linkOf);
      const [up, down] = [now.up - before.up, now.down - before.down];
      if (sent.bytesSent === 0 || up < sent.bytesSent) throw new Error(`${kind} call: the publisher sent ${sent.bytesSent} bytes of video, its uplink was offered ${up}`);
      if (received.bytesReceived === 0 || down < received.bytesReceived) throw new Error(`${kind} call: the subscriber received ${received.bytesReceived} bytes of video, its downlink passed ${down}`);
    },
    close: () => Promise.all([publisher.close(), subscriber.close()]).then(() => undefined),
  };
}

async function openPage(browser: Browser, url: string, name: string): Promise<Page> {
  // Its own window: a background tab is hidden, and the SDK pauses the videos of hidden pages.
  const page = await browser.newPage({ type: "window" }).catch(() => browser.newPage());
  await page.evaluateOnNewDocument("window.__name = (f) => f");
  await page.evaluateOnNewDocument(recordPeerConnections);
  page.on("console", (m) => m.type() === "error" && console.error(`[${name}] ${m.text()}`));
  // A Chromium just started in a namespace may still see its interfaces come up, and aborts the first
  // navigation with ERR_NETWORK_CHANGED (its network-change notifier): that navigation is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return page;
    } catch (e) {
      if (attempt >= 3 || !String(e).includes("ERR_NETWORK_CHANGED")) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Waits until the subscriber's page decodes video. */
async function decoding(subscriber: Page): Promise<void> {
  await eventually("the subscriber decodes video", () => subscriber.evaluate(sampleMedia), (s) => s.framesDecoded > 10, 60_000);
}

// Direct calls: serialized into the pages.
async function directOffer(): Promise<string> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 20 } });
  const pc = new RTCPeerConnection();
  pc.addTransceiver(stream.getVideoTracks()[0]!, { direction: "sendonly" });
  (window as unknown as { __direct: RTCPeerConnection }).__direct = pc;
  await pc.setLocalDescription();
  if (pc.iceGatheringState !== "complete") await new Promise<void>((r) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r()));
  return pc.localDescription!.sdp;
}
async function directAnswer(offer: string): Promise<string> {
  const pc = new RTCPeerConnection();
  pc.ontrack = (e) => {
    const video = Object.assign(document.createElement("video"), { muted: true, autoplay: true, srcObject: new MediaStream([e.track]) });
    document.body.append(video);
  };
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  await pc.setLocalDescription();
  if (pc.iceGatheringState !== "complete") await new Promise<void>((r) => pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r()));
  return pc.localDescription!.sdp;
}
async function directAccept(answer: string): Promise<void> {
  await (window as unknown as { __direct: RTCPeerConnection }).__direct.setRemoteDescription({ type: "answer", sdp: answer });
}

const withoutCandidates = (sdp: string) => sdp.split("\r\n").filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates").join("\r\n");

/** `sdp` with one host candidate, `address:port` over UDP, in each media section (after its m= line). */
function withOnlyCandidate(sdp: string, address: string, port: number): string {
  const candidate = `a=candidate:1 1 udp 2122260223 ${address} ${port} typ host`;
  return withoutCandidates(sdp).split("\r\n").flatMap((line) => (line.startsWith("m=") ? [line, candidate] : [line])).join("\r\n");
}

function deleteSideNamespaces(): void {
  for (const side of Object.values(NETWORKS)) execFileSync("sh", ["-c", `ip netns del ${side.namespace} 2>/dev/null; true`]);
}

export async function startRig(): Promise<Rig> {
  sh("sysctl -qw net.ipv4.ip_forward=0");
  process.once("exit", deleteSideNamespaces); // also when a run fails half-way or is interrupted
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  for (const side of Object.values(NETWORKS)) makeSideNamespace(side);
  const forwarder = await startForwarder();
  for (let port = RELAY_PORTS[0]; port <= RELAY_PORTS[1]; port++) await forwarder.route({ address: MAIN.address, port }, { address: "127.0.0.1", port });
  const relay = await startRelay(
    {
      ...structuredClone(DEFAULT_RELAY_CONFIG),
      // One process: the impaired-network results (docs/impaired-networks.md) are compared run to run,
      // all measured on one SFU, and its 12 forwarded ports would be 6 per worker on two.
      workers: 1,
      host: MAIN.address, port: 0, rtcBindAddress: "127.0.0.1", announcedAddresses: [MAIN.address], udpPortRange: RELAY_PORTS,
      // UDP only: an ICE-TCP path would bypass the forwarder (it carries datagrams).
      iceTcp: false,
      allowedOrigins: ["*"],
    },
    pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }),
  );
  const relayOrigin = `http://${MAIN.address}:${relay.port}`;
  const site: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const room = url.searchParams.get("room")?.replace(/[^\w-]/g, "") ?? "";
    const page =
      url.pathname === "/publisher" ? elementPage(relayOrigin, room, { name: "Publisher", simulcast: "", audio: "off" })
      : url.pathname === "/subscriber" ? elementPage(relayOrigin, room, { name: "Subscriber", quality: "high", audio: "off", video: "off" })
      : "<!doctype html><html><body></body></html>";
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  });
  await new Promise<void>((resolve) => site.listen(0, MAIN.address, resolve));
  const siteOrigin = `http://${MAIN.address}:${(site.address() as { port: number }).port}`;
  const args = [
    ...chromiumArgs(), // the default fake camera: 1280x720 at 20 fps
    `--unsafely-treat-insecure-origin-as-secure=${siteOrigin}`,
    // Real host addresses in candidates (not mDNS names): a direct call's candidate is rewritten to a forwarder route.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
  ];
  const browsers: Record<Side, Browser> = { publisher: await launchIn("publisher", args), subscriber: await launchIn("subscriber", args) };
  let directPort = DIRECT_PORTS_FROM;

  const rig: Rig = {
    impair: (side, direction, conditions) => forwarder.set(NETWORKS[side].address, direction, conditions),
    async restore() {
      for (const side of ["publisher", "subscriber"] as const) for (const d of ["up", "down"] as const) await rig.impair(side, d, {});
    },
    async link(side) {
      return (await forwarder.counters())[NETWORKS[side].address]!;
    },
    async relayCall(room) {
      const before = await carried(rig.link);
      const publisher = await openPage(browsers.publisher, `${siteOrigin}/publisher?room=${room}`, "publisher");
      const subscriber = await openPage(browsers.subscriber, `${siteOrigin}/subscriber?room=${room}`, "subscriber");
      await decoding(subscriber);
      return newCall("relay", publisher, subscriber, rig.link, before);
    },
    async directCall() {
      const before = await carried(rig.link);
      const publisher = await openPage(browsers.publisher, `${siteOrigin}/`, "publisher");
      const subscriber = await openPage(browsers.subscriber, `${siteOrigin}/`, "subscriber");
      const offer = await publisher.evaluate(directOffer);
      const answer = await subscriber.evaluate(directAnswer, withoutCandidates(offer));
      const host = new RegExp(`^a=candidate:\\S+ 1 udp \\d+ ${NETWORKS.subscriber.address.replace(/\./g, "\\.")} (\\d+) typ host`, "m").exec(answer);
      if (!host) throw new Error(`the subscriber's answer has no UDP host candidate on ${NETWORKS.subscriber.address}:\n${answer}`);
      const port = directPort++;
      await forwarder.route({ address: MAIN.address, port }, { address: NETWORKS.subscriber.address, port: Number(host[1]) });
      await publisher.evaluate(directAccept, withStartBitrate(withOnlyCandidate(answer, MAIN.address, port), START_BITRATE_KBPS));
      await decoding(subscriber);
      return newCall("direct", publisher, subscriber, rig.link, before);
    },
    async close() {
      for (const b of Object.values(browsers)) await b.close().catch(() => undefined);
      await relay.close();
      await new Promise((r) => site.close(r));
      await forwarder.close();
      deleteSideNamespaces();
    },
  };
  await rig.restore(); // every link counts from the start, clean
  return rig;
}

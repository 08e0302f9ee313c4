/**
 * The relay serving TLS itself (--tls-cert/--tls-key), in headless Chromium: two HTTPS pages load the
 * element from `https://127.0.0.1:PORT/sfu-room.js`, join over `wss://` and decode each other's video.
 * The certificate is self-signed, made for the test; Chromium trusts exactly that key
 * (--ignore-certificate-errors-spki-list), not every certificate.
 *
 *   cd test && node --import tsx --test browser/e2e/tls.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { makeSelfSigned } from "../../support/self-signed.ts";
import { eventually } from "./harness.ts";
import { elementPage } from "./element-page.ts";
import { probe, type PageProbe } from "./page-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));

let relay: RunningRelay;
let site: Server;
let siteUrl: string;
let browser: Browser;

describe("<sfu-room> over wss:// to a relay with its own certificate", { timeout: 180_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    const tls = makeSelfSigned();
    relay = await startRelay(
      { ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, tlsCertPath: tls.certPath, tlsKeyPath: tls.keyPath },
      pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }),
    );
    assert.equal(relay.signalUrl, `wss://127.0.0.1:${relay.port}/ws`);
    const relayOrigin = `https://127.0.0.1:${relay.port}`;
    // The embedding site is HTTPS too, as in production (same test certificate).
    site = createServer({ cert: tls.cert, key: readFileSync(tls.keyPath) }, (req, res) => {
      const name = new URL(req.url ?? "/", "https://x").searchParams.get("name") ?? "guest";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, "tls", { name: name.replace(/[^\w ]/g, "") }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `https://127.0.0.1:${(site.address() as { port: number }).port}`;
    browser = await puppeteer.launch({
      executablePath, headless: true, protocolTimeout: 60_000,
      args: [...chromiumArgs({ y4m }), `--ignore-certificate-errors-spki-list=${tls.spkiSha256}`],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await relay?.close();
  });

  it("two HTTPS pages load the element from the relay over HTTPS, join over wss:// and decode each other's video", async () => {
    const pages: Page[] = await Promise.all(
      ["Ada", "Grace"].map(async (name) => {
        const p = await browser.newPage({ type: "window" }).catch(() => browser.newPage());
        await p.evaluateOnNewDocument("window.__name = (f) => f");
        await p.setViewport({ width: 800, height: 600 });
        const element = p.waitForResponse((r) => r.url() === `https://127.0.0.1:${relay.port}/sfu-room.js`);
        await p.goto(`${siteUrl}/?name=${name}`);
        assert.equal((await element).status(), 200, `${name}: the element module came over HTTPS`);
        return p;
      }),
    );
    const look = (i: number): Promise<PageProbe> => pages[i]!.evaluate(probe);
    const decoding = (p: PageProbe) => p.status === "joined" && p.tracks.some((t) => t.kind === "video" && t.framesDecoded > 0);
    const first = await Promise.all([0, 1].map((i) => eventually(`page ${i + 1} decodes the other's video`, () => look(i), decoding)));
    const server = await pages[0]!.$eval("sfu-room", (el) => el.getAttribute("server"));
    assert.equal(server, relay.signalUrl, "the element was pointed at the wss:// URL");
    assert.equal((await relay.readStats()).sessions, 2, "both joined through the TLS server");
    await new Promise((r) => setTimeout(r, 1500));
    for (const i of [0, 1]) {
      const frames = (p: PageProbe) => p.tracks.find((t) => t.kind === "video")!.framesDecoded;
      assert.ok(frames(await look(i)) > frames(first[i]!), `page ${i + 1}: the remote video keeps decoding`);
    }
  });
});

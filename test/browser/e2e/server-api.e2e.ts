/**
 * The server API acting on participants in real pages, end to end in headless Chromium: a backend
 * (this test, over HTTP with an admin token) mutes Ada's microphone, renames her, and removes Bob.
 * Each page shows it as its user would see it: Ada's microphone button reads off (an unmute from the
 * API does not turn it back on), Bob sees her muted and her new name on her tile, and Bob's element
 * leaves with the reason, without reconnecting. Ada, removed while her signaling is down, ends as
 * kicked when it is back (the relay tells her resume `removed`) instead of joining again.
 *
 *   node --import tsx --test test/browser/e2e/server-api.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, mintToken, startRelay, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { startTcpProxy, type TcpProxy } from "../../support/tcp-proxy.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";
import { probe, type PageProbe } from "./page-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const KEY: SigningKey = { id: "e2e", secret: "a-secret-for-the-server-api-e2e-test-01" };
const ROOM = "api-e2e";

let relay: RunningRelay;
let site: Server;
let browser: Browser;
let ada: Page;
let bob: Page;
/** Ada's way to the relay (page and signaling), which a test cuts. */
let adaPath: TcpProxy;

/** One server API call, as a backend makes it. */
async function api(method: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const token = await mintToken(KEY, { identity: "backend", video: { room: ROOM, roomAdmin: true }, ttlSeconds: 60 });
  const res = await fetch(`http://127.0.0.1:${relay.port}/api/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const reply = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, `${method}: ${JSON.stringify(reply)}`);
  return reply;
}

interface Seen {
  probe: PageProbe;
  microphone: string;
  names: string[];
  left: string[];
  updated: string[];
}

/** What a page shows: its probe, its microphone button, the names on its tiles, its element events. */
async function seen(page: Page): Promise<Seen> {
  const shown = await page.evaluate(() => {
    const root = document.querySelector("sfu-room")!.shadowRoot!;
    const w = window as unknown as { __left: string[]; __updated: string[] };
    return {
      microphone: root.querySelector("[part~=control-microphone]")?.getAttribute("aria-pressed") ?? "none",
      names: Array.from(root.querySelectorAll("[part~=name]")).map((n) => n.textContent?.trim() ?? ""),
      left: w.__left,
      updated: w.__updated,
    };
  });
  return { probe: await page.evaluate(probe), ...shown };
}

describe("the server API, seen in the pages", { timeout: 180_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, keys: [KEY] }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    adaPath = await startTcpProxy(relay.port);
    // GET /?as=ada|bob: the page, with a token its backend minted.
    site = createServer((req, res) => {
      const identity = new URL(req.url ?? "/", "http://x").searchParams.get("as") ?? "ada";
      const name = identity === "ada" ? "Ada" : "Bob";
      const relayOrigin = `http://127.0.0.1:${identity === "ada" ? adaPath.port : relay.port}`;
      void mintToken(KEY, { identity, name, video: { room: ROOM, roomJoin: true }, ttlSeconds: 600 }).then((token) =>
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, ROOM, { token })),
      );
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    const siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    browser = await puppeteer.launch({ executablePath, headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000 });
    const open = async (as: string) => {
      const p = await browser.newPage();
      await p.evaluateOnNewDocument("window.__name = (f) => f");
      await p.evaluateOnNewDocument(() => {
        const w = window as unknown as { __left: string[]; __updated: string[] };
        w.__left = [];
        w.__updated = [];
        document.addEventListener("DOMContentLoaded", () => {
          const el = document.querySelector("sfu-room")!;
          el.addEventListener("left", (e) => w.__left.push((e as CustomEvent<{ reason: string }>).detail.reason));
          el.addEventListener("participant-updated", (e) => w.__updated.push((e as CustomEvent<{ participant: { name: string } }>).detail.participant.name));
        });
      });
      await p.setViewport({ width: 800, height: 600 });
      await p.goto(`${siteUrl}/?as=${as}`);
      return p;
    };
    ada = await open("ada");
    bob = await open("bob");
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await adaPath?.close();
    await relay?.close();
  });

  it("MutePublishedTrack turns Ada's microphone off in her page and shows her muted to Bob; an API unmute does not turn it on", async () => {
    const adaId = (await eventually("ada joined", () => seen(ada), (s) => s.probe.status === "joined" && s.microphone === "true")).probe.participantId;
    await eventually("bob receives ada's microphone", () => seen(bob), (s) => s.probe.tracks.some((t) => t.participantId === adaId && t.kind === "audio" && !t.muted));
    const { participants } = (await api("ListParticipants", { room: ROOM })) as { participants: Array<{ identity: string; tracks: Array<{ id: string; kind: string }> }> };
    const microphone = participants.find((p) => p.identity === "ada")!.tracks.find((t) => t.kind === "audio")!;

    await api("MutePublishedTrack", { room: ROOM, identity: "ada", trackId: microphone.id, muted: true });
    await eventually("ada's microphone button reads off", () => seen(ada), (s) => s.microphone === "false");
    await eventually("bob sees ada's microphone muted", () => seen(bob), (s) => s.probe.tracks.some((t) => t.trackId === microphone.id && t.muted));

    await api("MutePublishedTrack", { room: ROOM, identity: "ada", trackId: microphone.id, muted: false });
    // Ada's page answers with her real state: the relay reads muted again, and so does Bob.
    const listed = async () => ((await api("ListParticipants", { room: ROOM })) as { participants: Array<{ identity: string; tracks: Array<{ id: string; muted: boolean }> }> }).participants;
    await eventually("the relay has ada's microphone muted again", listed, (ps) => ps.find((p) => p.identity === "ada")!.tracks.find((t) => t.id === microphone.id)!.muted);
    assert.equal((await seen(ada)).microphone, "false", "the API cannot turn ada's microphone on");
    await eventually("bob sees ada's microphone muted", () => seen(bob), (s) => s.probe.tracks.some((t) => t.trackId === microphone.id && t.muted));
  });

  it("a mute while Ada's signaling is down holds after she resumes (her page follows the relay)", async () => {
    const microphone = async () => {
      const { participants } = (await api("ListParticipants", { room: ROOM })) as { participants: Array<{ identity: string; tracks: Array<{ id: string; kind: string; muted: boolean }> }> };
      return participants.find((p) => p.identity === "ada")!.tracks.find((t) => t.kind === "audio")!;
    };
    await ada.evaluate(() => document.querySelector("sfu-room")!.session!.setMicrophoneEnabled(true));
    await eventually("ada's microphone is on again", microphone, (t) => !t.muted);
    const resumed = ada.evaluate(() => new Promise<void>((resolve) => document.querySelector("sfu-room")!.session!.once("resumed", () => resolve())));
    const cut = adaPath.cut(3_000);
    await eventually("the relay lost ada's signaling", async () => (await relay.readStats()).sessions, (n) => n === 1);
    await api("MutePublishedTrack", { room: ROOM, identity: "ada", trackId: (await microphone()).id, muted: true });
    await cut;
    await resumed;
    await eventually("ada's microphone button reads off after the resume", () => seen(ada), (s) => s.microphone === "false");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await microphone()).muted, true, "the relay still has it muted: the resume did not undo the mute");
  });

  it("UpdateParticipant renames Ada on Bob's tile and in her own session, with participant-updated events", async () => {
    await api("UpdateParticipant", { room: ROOM, identity: "ada", name: "Ada Lovelace", metadata: "{\"role\":\"host\"}" });
    const atBob = await eventually("bob's tile names ada anew", () => seen(bob), (s) => s.names.includes("Ada Lovelace"));
    assert.deepEqual(atBob.updated, ["Ada Lovelace"]);
    await eventually("ada's page has her new name", () => seen(ada), (s) => s.updated.includes("Ada Lovelace"));
    assert.equal(await ada.evaluate(() => document.querySelector("sfu-room")!.session!.local.name), "Ada Lovelace");
    const metadata = await bob.evaluate(() => [...document.querySelector("sfu-room")!.session!.participants.values()].map((p) => p.metadata));
    assert.deepEqual(metadata, ["{\"role\":\"host\"}"]);
  });

  it("RemoveParticipant takes Bob out: his element leaves as kicked and does not reconnect; Ada sees him go", async () => {
    const bobId = (await seen(bob)).probe.participantId;
    await api("RemoveParticipant", { room: ROOM, identity: "bob" });
    const out = await eventually("bob's element left", () => seen(bob), (s) => s.left.length > 0);
    assert.deepEqual(out.left, ["kicked"]);
    await eventually("ada no longer has bob", () => ada.evaluate(() => [...document.querySelector("sfu-room")!.session!.participants.keys()]), (ids) => !ids.includes(bobId));
    await new Promise((r) => setTimeout(r, 1500));
    const later = await seen(bob);
    assert.notEqual(later.probe.status, "joined", "bob did not reconnect");
    assert.equal((await relay.readStats()).participants, 1);
  });

  it("RemoveParticipant of Ada while her signaling is down sticks: back online she ends as kicked, without rejoining", async () => {
    const cut = adaPath.cut(3_000);
    await eventually("the relay lost ada's signaling", async () => (await relay.readStats()).sessions, (n) => n === 0);
    await api("RemoveParticipant", { room: ROOM, identity: "ada" });
    await cut;
    const out = await eventually("ada's element left", () => seen(ada), (s) => s.left.length > 0, 30_000);
    assert.deepEqual(out.left, ["kicked"]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.notEqual((await seen(ada)).probe.status, "joined", "ada did not rejoin");
    assert.equal((await relay.readStats()).participants, 0);
  });
});

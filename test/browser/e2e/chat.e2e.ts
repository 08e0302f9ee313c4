/**
 * End to end in headless Chromium: two demo pages (a desktop and a 390x844 phone) chat through the real
 * relay, with text and a binary payload sent with <sfu-room>'s `send()` and received as `data` events,
 * and with the demo's <sfu-chat> panel (typing and Enter on the phone).
 *
 *   node --import tsx --test browser/e2e/chat.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "puppeteer-core";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { eventually, type Harness, PHONE, startHarness } from "./harness.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = `chat-${Date.now().toString(36)}`;
const QUIET = { audio: "off", video: "off" };

interface Received {
  from: string;
  name: string | null;
  topic: string | null;
  reliable: boolean;
  text: string | null;
  bytes: number[] | null;
}

/** Starts recording the element's `data` events in the page. */
function record(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { received: Received[] };
    w.received = [];
    document.querySelector("sfu-room")!.addEventListener("data", (e) => {
      const { from, participant, topic, reliable, payload } = e.detail;
      w.received.push({
        from,
        name: participant?.name ?? null,
        topic: topic ?? null,
        reliable,
        text: typeof payload === "string" ? payload : null,
        bytes: typeof payload === "string" ? null : Array.from(payload),
      });
    });
  });
}

const received = (page: Page) => page.evaluate(() => (window as unknown as { received: Received[] }).received);
const participantId = (page: Page) => page.evaluate(() => document.querySelector("sfu-room")!.session!.local.id);
const chatLines = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelector("sfu-chat")!.shadowRoot!.querySelectorAll(".message")).map(
      (m) => `${m.querySelector(".sender")!.textContent}: ${m.querySelector(".text")!.textContent}`,
    ),
  );

describe("two demo pages chat", { timeout: 180_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ distDir: `${ARTIFACTS}demo-dist-chat` });
  });
  after(async () => {
    await h?.close();
  });

  it("text and binary through <sfu-room>'s send() and data events, and through the chat panel", async () => {
    const ada = await h.openDemo(h.chromium, "Ada", ROOM, { params: QUIET });
    const bob = await h.openDemo(h.chromium, "Bob", ROOM, { params: QUIET, viewport: PHONE });
    await Promise.all([record(ada), record(bob)]);
    const [adaId, bobId] = await Promise.all([participantId(ada), participantId(bob)]);
    for (const page of [ada, bob]) {
      await eventually("data channels open", () => page.evaluate(() => document.querySelector("sfu-room")!.session!.peerConnections.subscriber?.sctp?.state ?? "none"), (s) => s === "connected");
    }

    // Text, with the element's API.
    const sent = await ada.evaluate(() => (document.querySelector("sfu-room") as SfuRoomElement).send("Hello from Ada", { topic: "chat" }));
    assert.equal(sent, "sent");
    const [text] = await eventually("Bob receives Ada's text", () => received(bob), (r) => r.length === 1);
    assert.deepEqual(text, { from: adaId, name: "Ada", topic: "chat", reliable: true, text: "Hello from Ada", bytes: null });

    // Binary, to Bob only.
    const bytes = [0, 1, 2, 127, 128, 254, 255, 42];
    await ada.evaluate((b, to) => (document.querySelector("sfu-room") as SfuRoomElement).send(Uint8Array.from(b), { topic: "file", to: [to] }), bytes, bobId);
    const r = await eventually("Bob receives Ada's bytes", () => received(bob), (x) => x.length === 2);
    assert.deepEqual(r[1], { from: adaId, name: "Ada", topic: "file", reliable: true, text: null, bytes });

    // The phone's chat panel starts collapsed and counts the chat message; opened, it shows it.
    assert.equal(await bob.$eval(".chat-toggle .badge", (b) => (b as HTMLElement).hidden ? "" : b.textContent), "1");
    await bob.click("#chat-toggle");
    await eventually("Bob's chat shows Ada's message", () => chatLines(bob), (l) => l.join() === "Ada: Hello from Ada");

    // Bob answers by typing in the chat and pressing Enter.
    await bob.click("sfu-chat >>> input");
    await bob.keyboard.type("Hi Ada, got your bytes");
    await bob.keyboard.press("Enter");
    const atAda = await eventually("Ada receives Bob's chat message", () => received(ada), (x) => x.length === 1);
    assert.deepEqual(atAda[0], { from: bobId, name: "Bob", topic: "chat", reliable: true, text: "Hi Ada, got your bytes", bytes: null });
    // (Ada's own message went through send(), not through her chat panel, so her panel shows Bob's only.)
    await eventually("Ada's chat panel shows Bob's message", () => chatLines(ada), (l) => l.join("|") === "Bob: Hi Ada, got your bytes");
    assert.deepEqual(await chatLines(bob), ["Ada: Hello from Ada", "You: Hi Ada, got your bytes"]);

    // On the phone, with the chat open: nothing sticks out sideways, the field and button are touch-sized.
    const layout = await bob.evaluate(() => {
      const chat = document.querySelector("sfu-chat")!.shadowRoot!;
      const size = (sel: string) => {
        const r = chat.querySelector(sel)!.getBoundingClientRect();
        return { right: r.right, height: r.height };
      };
      return {
        scrollWidth: document.documentElement.scrollWidth,
        input: size("input"),
        button: size("button"),
        roomHeight: document.querySelector("sfu-room")!.getBoundingClientRect().height,
      };
    });
    assert.ok(layout.scrollWidth <= 390, `horizontal overflow: ${layout.scrollWidth}`);
    for (const c of [layout.input, layout.button]) {
      assert.ok(c.right <= 390.5 && c.height >= 44, `control ${JSON.stringify(c)} overflows or is under 44 px`);
    }
    assert.ok(layout.roomHeight >= 320, `the call keeps room above the chat (${layout.roomHeight} px)`);
    await bob.screenshot({ path: `${ARTIFACTS}mobile-chat.png` });
  });
});

/** Data messages between <sfu-room> elements in one page: text, binary, topics, targets, parts, limits. */
import { expect } from "@open-wc/testing";
import { type DataEvent, maxMessageBytes, type SfuRoomElement } from "@sfu-room/sdk";
import { DATA_CHANNELS, MAX_DATA_FRAME_BYTES } from "@sfu-room/protocol";
import { RELIABLE_HIGH_WATER } from "../../../packages/sdk/src/room/data-channels.ts";
import { config, mediaNetwork, mount, nextEvent, rejection, uniqueRoom, unmountAll, until } from "./helpers.ts";

function collect(el: SfuRoomElement): DataEvent[] {
  const got: DataEvent[] = [];
  el.addEventListener("data", (e) => got.push(e.detail));
  return got;
}

async function joinAll(names: string[], server = config.relay): Promise<SfuRoomElement[]> {
  const room = uniqueRoom("data");
  const els: SfuRoomElement[] = [];
  for (const name of names) {
    const el = mount({ server, room, name, audio: "off", video: "off" }, { width: 320, height: 240 });
    await nextEvent(el, "joined");
    els.push(el);
  }
  // Everyone knows everyone (the last one's arrival reached the first).
  await until("all participants known", () => els.every((el) => el.session!.participants.size === names.length - 1));
  // The relay delivers to participants whose data channels are open (docs/protocol.md 7.5).
  await until("every data channel open", () => els.every((el) => el.session!.peerConnections.subscriber?.sctp?.state === "connected"));
  return els;
}

describe("data messages", function () {
  this.timeout(60_000);
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(unmountAll);

  it("text and binary reach everyone else with topic and sender; targeted reaches only the target", async () => {
    const [ada, bob, cy] = await joinAll(["Ada", "Bob", "Cy"]);
    const [atAda, atBob, atCy] = [collect(ada!), collect(bob!), collect(cy!)];
    const adaId = ada!.session!.local.id;

    expect(await ada!.send("hello 👋", { topic: "chat" })).to.equal("sent");
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    await ada!.send(bytes, { topic: "bin" });
    await until("Bob and Cy get both", () => atBob.length === 2 && atCy.length === 2);
    for (const got of [atBob, atCy]) {
      expect(got[0]).to.include({ from: adaId, topic: "chat", payload: "hello 👋", reliable: true });
      expect(got[0]!.participant?.name).to.equal("Ada");
      expect(got[1]!.topic).to.equal("bin");
      expect(got[1]!.payload).to.be.instanceOf(Uint8Array);
      expect(Array.from(got[1]!.payload as Uint8Array)).to.deep.equal(Array.from(bytes));
    }

    await bob!.send("just for Cy", { to: [cy!.session!.local.id], topic: "dm" });
    await until("Cy gets the direct message", () => atCy.length === 3);
    expect(atCy[2]).to.include({ from: bob!.session!.local.id, topic: "dm", payload: "just for Cy" });
    await new Promise((r) => setTimeout(r, 300));
    expect(atAda).to.have.length(0); // neither the broadcast of Ada herself nor Bob's message to Cy
    expect(atBob).to.have.length(2);

    const lossy = await bob!.send("fast", { reliable: false, topic: "cursor" });
    expect(lossy).to.equal("sent");
    await until("the lossy message arrives (loopback loses nothing)", () => atAda.length === 1);
    expect(atAda[0]).to.include({ topic: "cursor", payload: "fast", reliable: false });
  });

  it("a message of about 1 MiB is split into parts and arrives byte for byte", async () => {
    const [ada, bob] = await joinAll(["Ada", "Bob"]);
    const atBob = collect(bob!);
    const size = maxMessageBytes({ topic: "file" }, true);
    expect(size).to.be.greaterThan(1_040_000);
    const big = new Uint8Array(size);
    for (let i = 0; i < size; i++) big[i] = (i * 2654435761) >>> 24;
    const started = performance.now();
    await ada!.send(big, { topic: "file" });
    await ada!.send("after the big one", { topic: "file" });
    await until("Bob has both", () => atBob.length === 2, 30_000);
    const ms = performance.now() - started;
    const got = atBob[0]!.payload as Uint8Array;
    expect(got.length).to.equal(size);
    let same = true;
    for (let i = 0; i < size && same; i++) same = got[i] === big[i];
    expect(same, "payload differs").to.equal(true);
    expect(atBob[1]!.payload).to.equal("after the big one"); // order kept across a multi-part message
    console.log(`[data] ${size} bytes in ${Math.round(ms)} ms`);

    const text = "é".repeat(200_000); // 400,000 bytes of UTF-8 text: still a string at the other end
    await ada!.send(text, { topic: "file" });
    await until("Bob has the text", () => atBob.length === 3, 30_000);
    expect(atBob[2]!.payload).to.equal(text);
  });

  it("a burst of 4 MiB is paced by the channel's buffer (bufferedamountlow), not dropped or overflowed", async () => {
    const [ada, bob] = await joinAll(["Ada", "Bob"], config.dataFastRelay);
    const atBob = collect(bob!);
    // What Ada's reliable channel holds right after each frame is handed to it.
    const queued: number[] = [];
    const send = RTCDataChannel.prototype.send;
    RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
      send.call(this, data);
      if (this.label === DATA_CHANNELS.reliable.label) queued.push(this.bufferedAmount);
    };
    try {
      const size = maxMessageBytes({ topic: "burst" }, true);
      const sends = [0, 1, 2, 3].map((i) => ada!.send(new Uint8Array(size).fill(i), { topic: "burst" }));
      expect(await Promise.all(sends)).to.deep.equal(["sent", "sent", "sent", "sent"]);
      await until("Bob has all four", () => atBob.length === 4, 60_000);
      expect(atBob.map((d) => (d.payload as Uint8Array)[size - 1])).to.deep.equal([0, 1, 2, 3]);
    } finally {
      RTCDataChannel.prototype.send = send;
    }
    // 4 MiB went through a channel never holding more than its high-water mark and one frame: the
    // frames waited for bufferedamountlow (it did fill up: without waiting it would have held 4 MiB).
    expect(Math.max(...queued), "the most the channel held").to.be.at.most(RELIABLE_HIGH_WATER + MAX_DATA_FRAME_BYTES);
    expect(Math.max(...queued), "the burst filled the buffer").to.be.at.least(RELIABLE_HIGH_WATER);
    expect(ada!.session!.peerConnections.subscriber!.sctp?.state).to.equal("connected");
  });

  it("refuses what cannot be sent, with a code, and the channel keeps working", async () => {
    const lonely = mount({ server: config.relay, room: uniqueRoom("data-off"), name: "Early", manual: "", audio: "off", video: "off" });
    expect((await rejection(lonely.send("too early"))).code).to.equal("not-connected");

    const [ada, bob] = await joinAll(["Ada", "Bob"]);
    const atBob = collect(bob!);
    const tooBig = await rejection(ada!.send(new Uint8Array(1024 * 1024 + 1)));
    expect(tooBig.code).to.equal("data-too-large");
    expect(tooBig.message).to.match(/at most 1 MiB/);
    const lossyBig = await rejection(ada!.send(new Uint8Array(20_000), { reliable: false }));
    expect(lossyBig.code).to.equal("data-too-large");
    expect(lossyBig.message).to.match(/lossy message must fit in one frame/);
    expect((await rejection(ada!.send("x", { to: ["P-nobody"] }))).code).to.equal("unknown-participant");
    expect((await rejection(ada!.send("x", { topic: "t".repeat(129) }))).code).to.equal("invalid-message");
    // Exactly 1 MiB needs 65 parts of 16 KiB with their headers; the protocol allows 64.
    const exactly = await rejection(ada!.send(new Uint8Array(1024 * 1024)));
    expect(exactly.code).to.equal("data-too-large");
    expect(exactly.message).to.match(/64 parts/);

    await ada!.send("still fine");
    await until("Bob gets the next message", () => atBob.length === 1);
    expect(atBob[0]!.payload).to.equal("still fine");
  });

  it("refusals by the relay (a flood over its rate limit) arrive as error events, not rejections", async () => {
    const [ada, bob] = await joinAll(["Ada", "Bob"], config.dataLimitedRelay);
    const atBob = collect(bob!);
    const relayCodes: string[] = [];
    ada!.session!.on("error", (e) => relayCodes.push(`${e.code}/${e.relayCode ?? ""}`));
    const shown = nextEvent(ada!, "error");
    const sends: Array<Promise<string>> = [];
    for (let i = 0; i < 100; i++) sends.push(ada!.send(`m${i}`, { topic: "flood" }));
    expect(new Set(await Promise.all(sends))).to.deep.equal(new Set(["sent"]));
    expect((await shown).detail).to.include({ code: "data-refused", fatal: false });
    await until("some were refused", () => relayCodes.length > 0);
    expect(relayCodes[0]).to.equal("data-refused/rate-limited");
    await until("the rest arrived", () => atBob.length + relayCodes.length === 100, 30_000);
    expect(atBob.length).to.be.at.least(40); // the burst
    expect(atBob.map((d) => d.payload)).to.deep.equal(atBob.map((d) => d.payload).sort((a, b) => Number(String(a).slice(1)) - Number(String(b).slice(1))));
    expect(ada!.status).to.equal("joined");
  });
});

/** <sfu-room> without media: definition, attributes, idle states, error states. */
import { expect } from "@open-wc/testing";
import { SfuRoomElement } from "@sfu-room/sdk";
import { $, config, mount, nextEvent, selfTile, uniqueRoom, unmountAll, until } from "./helpers.ts";

describe("<sfu-room> basics", () => {
  afterEach(unmountAll);

  it("is defined and parses its attributes", async () => {
    const el = mount({ manual: "", server: config.relay, room: "r1", name: "Ada", audio: "off", video: "false" });
    expect(el).to.be.instanceOf(SfuRoomElement);
    await el.updateComplete;
    expect(el.server).to.equal(config.relay);
    expect(el.room).to.equal("r1");
    expect(el.name).to.equal("Ada");
    expect(el.audio).to.equal(false);
    expect(el.video).to.equal(false);
    el.removeAttribute("audio");
    el.setAttribute("video", "");
    expect(el.audio).to.equal(true);
    expect(el.video).to.equal(true);
  });

  it("waits for a room, then offers to join when manual", async () => {
    const el = mount({ manual: "" });
    await el.updateComplete;
    expect($(el, '[part~="message"]')!.textContent).to.contain("Waiting for a room");
    el.server = config.relay;
    el.room = "standup";
    await el.updateComplete;
    expect(el.status).to.equal("idle");
    expect($(el, '[part~="message"]')!.textContent).to.contain("Ready to join “standup”");
    const join = $(el, '[part~="action"]')!;
    expect(join.textContent!.trim()).to.equal("Join");
    expect(join.getBoundingClientRect().height).to.be.at.least(44);
  });

  it("reports a relay it cannot reach", async () => {
    const el = mount({ manual: "", server: "ws://127.0.0.1:9/ws", room: uniqueRoom("x"), audio: "off", video: "off" });
    const error = nextEvent(el, "error");
    await el.join().then(
      () => expect.fail("join() should reject"),
      (e: Error & { code?: string }) => expect(e.code).to.equal("relay-unreachable"),
    );
    const { detail } = await error;
    expect(detail.code).to.equal("relay-unreachable");
    expect(detail.fatal).to.equal(true);
    await el.updateComplete;
    expect(el.status).to.equal("failed");
    const message = $(el, '[part~="error"] [part~="message"]')!;
    expect(message.dataset.code).to.equal("relay-unreachable");
    expect(message.textContent).to.contain("Could not reach the relay at ws://127.0.0.1:9/ws");
    expect($(el, '[part~="error"]')!.getAttribute("role")).to.equal("alert");
  });

  it("rejects a bad room name before connecting", async () => {
    const el = mount({ manual: "", server: config.relay, room: ".hidden", audio: "off", video: "off" });
    const error = nextEvent(el, "error");
    await el.join().catch(() => undefined);
    expect((await error).detail.code).to.equal("bad-room-name");
    await el.updateComplete;
    expect($(el, '[part~="message"]')!.textContent).to.contain("not a valid room name");
  });

  it("says when the room is full", async () => {
    const room = uniqueRoom("full");
    const first = mount({ server: config.fullRelay, room, name: "First", audio: "off", video: "off" });
    await nextEvent(first, "joined");
    const second = mount({ server: config.fullRelay, room, name: "Second", audio: "off", video: "off" });
    const { detail } = await nextEvent(second, "error");
    expect(detail).to.include({ code: "room-full", fatal: true });
    await until("full message", () => $(second, '[part~="message"]')?.textContent?.includes("is full") ?? false);
    expect($(second, '[part~="action"]')!.textContent!.trim()).to.equal("Try again");
  });

  it("moved in the page, leaves and joins again", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("move"), name: "Mover", audio: "off", video: "off" });
    const first = await nextEvent(el, "joined");
    const left = nextEvent(el, "left");
    const joined = nextEvent(el, "joined");
    const box = el.parentElement!;
    document.body.prepend(box); // disconnected and connected again in one task
    expect((await left).detail).to.deep.equal({ room: first.detail.room, reason: "removed" });
    expect((await joined).detail.room).to.equal(first.detail.room);
    expect(el.status).to.equal("joined");
  });

  it("with reconnecting turned off, says when the connection is lost, and fires left", async () => {
    const el = mount({ server: config.droppingRelay, room: uniqueRoom("drop"), audio: "off", video: "off", "reconnect-timeout": "0" });
    await nextEvent(el, "joined");
    const left = nextEvent(el, "left");
    const { detail } = await nextEvent(el, "error");
    expect(detail).to.include({ code: "connection-lost", fatal: true });
    expect((await left).detail.reason).to.equal("connection-lost");
    await el.updateComplete;
    expect(el.status).to.equal("failed");
    expect($(el, '[part~="message"]')!.textContent).to.contain("connection to the relay was lost");
  });

  it("shows Reconnecting… over the room while it tries to get back in, then the error and Try again when it gives up", async () => {
    const el = mount({ server: config.droppingRelay, room: uniqueRoom("drop"), audio: "off", video: "off", "reconnect-timeout": "1500" });
    await nextEvent(el, "joined");
    const errors: Array<{ code: string; fatal: boolean }> = [];
    el.addEventListener("error", (e) => errors.push({ code: e.detail.code, fatal: e.detail.fatal }));
    const reconnecting = await nextEvent(el, "reconnecting");
    expect(reconnecting.detail).to.deep.equal({ attempt: 1, reason: "signaling-lost" });
    await el.updateComplete;
    expect(el.status).to.equal("reconnecting");
    expect($(el, '[part="reconnecting"][role="status"]')!.textContent).to.contain("Reconnecting");
    expect(selfTile(el), "the tiles stay while reconnecting").to.exist;
    const left = await nextEvent(el, "left");
    expect(left.detail.reason).to.equal("connection-lost");
    expect(errors).to.deep.equal([{ code: "reconnect-failed", fatal: true }]);
    await el.updateComplete;
    expect(el.status).to.equal("failed");
    expect($(el, '[part="reconnecting"]')).to.equal(null);
    expect($(el, '[part~="message"]')!.textContent).to.contain("could not be restored");
    expect($(el, '[part~="action"]')!.textContent).to.contain("Try again");
  });

  it("says when the relay removed the participant", async () => {
    const el = mount({ server: config.droppingRelay, room: uniqueRoom("kick"), audio: "off", video: "off" });
    await nextEvent(el, "joined");
    const left = nextEvent(el, "left");
    expect((await nextEvent(el, "error")).detail.code).to.equal("kicked");
    expect((await left).detail.reason).to.equal("kicked");
    await el.updateComplete;
    expect($(el, '[part~="message"]')!.textContent).to.contain("relay ended your session");
  });
});

/** Screen sharing from the control bar (a real click: getDisplayMedia needs a user gesture). */
import { expect } from "@open-wc/testing";
import { sendMouse } from "@web/test-runner-commands";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { $, config, isFirefox, mediaNetwork, mount, nextEvent, remoteTiles, uniqueRoom, unmountAll, until } from "./helpers.ts";

async function clickControl(el: SfuRoomElement, part: string): Promise<void> {
  const button = $(el, `[part~="${part}"]`)!;
  const r = button.getBoundingClientRect();
  await sendMouse({ type: "click", position: [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)] });
}

describe("screen sharing", function () {
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(unmountAll);

  it("shares the screen as a separate tile for everyone, stops, and shares again", async function () {
    const room = uniqueRoom("screen");
    const ada = mount({ server: config.relay, room, name: "Ada", audio: "off", video: "off" }, { width: 640, height: 360 });
    await nextEvent(ada, "joined");
    if (isFirefox) {
      // Firefox's fake devices include no screen: the element says so and stays in the room.
      const error = nextEvent(ada, "error");
      await clickControl(ada, "control-screen");
      expect((await error).detail).to.include({ code: "screen-share-denied", fatal: false });
      await until("notice", () => $(ada, '[part~="notice"][data-code="screen-share-denied"]') !== null);
      expect(ada.status).to.equal("joined");
      return;
    }
    const bob = mount({ server: config.relay, room, name: "Bob", audio: "off", video: "off" }, { width: 640, height: 360 });
    await nextEvent(bob, "joined");

    await clickControl(ada, "control-screen");
    await until("Ada shares", () => ada.session?.local.isScreenShareEnabled === true && ada.session.local.tracks.get("screen")?.trackId !== undefined);
    await ada.updateComplete;
    expect($(ada, '[part~="control-screen"]')!.getAttribute("aria-pressed")).to.equal("true");
    // Ada sees her share as the small "You are presenting" preview, not as a tile.
    expect($(ada, '[part~="presenting"]')).to.not.equal(null);
    expect($(ada, '.tile[data-source="screen"]')).to.equal(null);
    await until("Bob sees Ada's screen", async () => {
      await bob.updateComplete;
      return remoteTiles(bob).some((t) => t.dataset.source === "screen" && t.dataset.video === "on");
    });
    const firstId = ada.session!.local.tracks.get("screen")!.trackId;

    expect(await ada.toggleScreenShare()).to.equal(false);
    await until("Bob's screen tile gone", async () => {
      await bob.updateComplete;
      return !remoteTiles(bob).some((t) => t.dataset.source === "screen");
    });

    // Again: the idle transceivers are reused (same m-lines, a new relay track id). Ada publishes no
    // camera or microphone: the two are the screen's picture and its sound (Chromium's fake tab audio).
    await clickControl(ada, "control-screen");
    await until("Ada shares again", () => ada.session?.local.tracks.get("screen")?.trackId !== undefined);
    expect(ada.session!.local.tracks.get("screen")!.trackId).to.not.equal(firstId);
    expect(ada.session!.peerConnections.publisher!.getTransceivers().map((t) => t.sender.track?.kind ?? "none")).to.deep.equal(["video", "audio"]);
    await until("Bob sees the screen again", async () => {
      await bob.updateComplete;
      return remoteTiles(bob).some((t) => t.dataset.source === "screen" && t.dataset.video === "on");
    });
  });
});

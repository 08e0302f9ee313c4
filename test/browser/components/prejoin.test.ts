/** The pre-join view (`prejoin`): camera preview, microphone level, on/off before joining, and the join that follows it. */
import { expect } from "@open-wc/testing";
import { sendMouse } from "@web/test-runner-commands";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { $, config, mediaNetwork, mount, nextEvent, previewPlaying, previewTrack, remoteTiles, uniqueRoom, unmountAll, until } from "./helpers.ts";

function meterLevel(el: SfuRoomElement): number {
  return Number($(el, '[part~="mic-level"]')?.getAttribute("aria-valuenow") ?? "-1");
}

describe("the pre-join view", function () {
  this.timeout(60_000);
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(unmountAll);

  it("previews the camera and the microphone's level, and joins only on Join, with the camera and microphone as left there", async () => {
    const room = uniqueRoom("prejoin");
    const ada = mount({ server: config.relay, room, name: "Ada", prejoin: "" });
    await previewPlaying(ada);
    expect(ada.status, "waits for Join").to.equal("idle");
    expect(ada.session).to.equal(undefined);
    // A real click in the view: Firefox starts the meter's audio only after a gesture (Chromium runs with autoplay allowed).
    const title = $(ada, '[part~="prejoin"] [part~="message"]')!.getBoundingClientRect();
    await sendMouse({ type: "click", position: [Math.round(title.left + 10), Math.round(title.top + title.height / 2)] });
    await until("the meter moves with the microphone", () => meterLevel(ada) > 0, 15_000);

    // Camera off and on again in the view: the preview's capture stops, and a new one starts.
    const first = previewTrack(ada)!;
    $(ada, '[part~="prejoin-camera"]')!.click();
    await until("the preview stops", () => first.readyState === "ended" && previewTrack(ada) === undefined);
    expect($(ada, '[part~="prejoin"] [part~="avatar"]')).to.not.equal(null);
    $(ada, '[part~="prejoin-camera"]')!.click();
    await previewPlaying(ada);
    const second = previewTrack(ada)!;

    // Microphone off: the meter goes still.
    $(ada, '[part~="prejoin-microphone"]')!.click();
    await until("the meter is at 0", () => meterLevel(ada) === 0);
    expect($(ada, '[part~="prejoin-microphone"]')!.getAttribute("aria-pressed")).to.equal("false");

    const joined = nextEvent(ada, "joined");
    $(ada, '[part~="prejoin-join"]')!.click();
    await joined;
    expect(second.readyState, "the preview's capture is released").to.equal("ended");
    await until("camera published", () => ada.session?.local.tracks.get("camera")?.trackId !== undefined);
    expect(ada.session!.local.isCameraEnabled).to.equal(true);
    expect(ada.session!.local.isMicrophoneEnabled).to.equal(false);
    expect($(ada, '[part~="prejoin"]'), "the view is gone").to.equal(null);

    // Someone else sees what was chosen: Ada's camera, and no microphone.
    const bob = mount({ server: config.relay, room, name: "Bob", audio: "off", video: "off" });
    await nextEvent(bob, "joined");
    await until("Bob sees Ada's video and no microphone", async () => {
      await bob.updateComplete;
      const tile = remoteTiles(bob)[0];
      return tile?.dataset.video === "on" && tile.dataset.audio === "none";
    });
  });

  it("a camera turned off before joining stays off, and join() from the page joins from the view", async () => {
    const ada = mount({ server: config.relay, room: uniqueRoom("prejoin-off"), name: "Ada", prejoin: "", audio: "off" });
    await previewPlaying(ada);
    expect($(ada, '[part~="prejoin-microphone"]')!.getAttribute("aria-pressed"), "the page's audio=off").to.equal("false");
    const preview = previewTrack(ada)!;
    $(ada, '[part~="prejoin-camera"]')!.click();
    await until("the preview stops", () => preview.readyState === "ended");
    await ada.join();
    expect(ada.session!.local.tracks.has("camera"), "no camera captured").to.equal(false);
    expect(ada.video, "the page's property is untouched").to.equal(true);
  });
});

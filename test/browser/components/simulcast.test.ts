/** Simulcast publishing (three layers) and adaptive stream (tile sizes sent to the relay). */
import { expect } from "@open-wc/testing";
import { config, mediaNetwork, mount, nextEvent, uniqueRoom, unmountAll, until } from "./helpers.ts";

describe("simulcast", function () {
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(unmountAll);

  it("publishes three layers and the other side decodes one that fits its tile", async () => {
    const room = uniqueRoom("simulcast");
    const ada = mount({ server: config.relay, room, name: "Ada", audio: "off", simulcast: "" }, { width: 640, height: 400 });
    await nextEvent(ada, "joined");
    await until("camera published", () => ada.session?.local.tracks.get("camera")?.trackId !== undefined);
    const sender = ada.session!.local.tracks.get("camera")!.sender!;
    expect(sender.getParameters().encodings.map((e) => e.rid)).to.deep.equal(["q", "h", "f"]);

    // Bob shows Ada in a small tile: the relay should not need the full layer for it.
    const bob = mount({ server: config.relay, room, name: "Bob", audio: "off", video: "off" }, { width: 360, height: 260 });
    await nextEvent(bob, "joined");
    let width = 0;
    await until("Bob decodes Ada's simulcast video", async () => {
      const track = [...bob.session!.participants.values()][0]?.cameraTrack;
      const stats = await track?.getStats();
      width = stats?.frameWidth ?? 0;
      return (stats?.framesDecoded ?? 0) > 10;
    }, 30_000);
    expect(width).to.be.greaterThan(0).and.at.most(640);
  });
});

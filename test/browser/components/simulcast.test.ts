/** Simulcast publishing (three layers) and adaptive stream (tile sizes sent to the relay). */
import { expect } from "@open-wc/testing";
import { config, disconnectRooms, mediaNetwork, mount, newRoom, nextEvent, uniqueRoom, unmountAll, until } from "./helpers.ts";

describe("simulcast", function () {
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(async () => {
    await disconnectRooms();
    await unmountAll();
  });

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

  it("opts out: simulcast=\"off\" and simulcast: false send one plain encoding, captured at 640x360", async () => {
    const ada = mount({ server: config.relay, room: uniqueRoom("no-simulcast"), name: "Ada", audio: "off", simulcast: "off" }, { width: 640, height: 400 });
    await nextEvent(ada, "joined");
    await until("camera published", () => ada.session?.local.tracks.get("camera")?.sender !== undefined);
    const camera = ada.session!.local.tracks.get("camera")!;
    expect(camera.sender!.getParameters().encodings.map((e) => e.rid ?? "")).to.deep.equal([""]);
    expect(camera.mediaStreamTrack!.getSettings().height).to.be.at.most(360);

    const bob = newRoom();
    await bob.connect(config.relay, uniqueRoom("no-simulcast-room"), { name: "Bob", audio: false, simulcast: false });
    const bobCamera = bob.local.tracks.get("camera")!;
    expect(bobCamera.sender!.getParameters().encodings.map((e) => e.rid ?? "")).to.deep.equal([""]);
    expect(bobCamera.mediaStreamTrack!.getSettings().height).to.be.at.most(360);
  });
});

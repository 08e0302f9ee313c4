/**
 * Quality controls: the subscription-settings sync (what is sent when), element observation (size in
 * device pixels, visibility), presets, and with real media the `quality` attribute and a hidden tile.
 */
import { expect } from "@open-wc/testing";
import { cameraPlan, observeElementView, type ElementView, type SubscriptionSettings } from "@sfu-room/sdk";
import { ViewSettings } from "../../../packages/sdk/src/room/view-settings.ts";
import { config, mediaNetwork, mount, nextEvent, remoteTiles, uniqueRoom, unmountAll, until } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeSink(): { sent: SubscriptionSettings[]; sink: (s: SubscriptionSettings) => Promise<void> } {
  const sent: SubscriptionSettings[] = [];
  return { sent, sink: async (s) => void sent.push(s) };
}

describe("quality controls", function () {
  this.timeout(60_000);
  afterEach(unmountAll);

  it("sends only changes: quality at once, hiding after a moment, showing at once, sizes beyond 10 %", async () => {
    const { sent, sink } = fakeSink();
    const settings = new ViewSettings(sink);
    await settings.setQuality("low"); // not received yet: kept
    expect(sent).to.deep.equal([]);
    settings.activate();
    await sleep(0);
    expect(sent).to.deep.equal([{ quality: "low" }]);

    const a = {};
    const b = {};
    settings.setView(a, { width: 640, height: 360, visible: true });
    await sleep(400);
    expect(sent.at(-1)).to.deep.equal({ width: 640, height: 360 });
    settings.setView(a, { width: 660, height: 370, visible: true }); // under 10 %: nothing
    await sleep(400);
    expect(sent).to.have.length(2);

    settings.setView(a, { width: 660, height: 370, visible: false });
    await sleep(20);
    expect(sent).to.have.length(2); // hiding waits a moment (a re-render may show it again)
    await sleep(150);
    expect(sent.at(-1)).to.deep.equal({ visible: false });
    settings.setView(b, { width: 1280, height: 720, visible: true }); // a second, bigger element is seen
    await sleep(0);
    expect(sent.at(-1)).to.deep.equal({ visible: true, width: 1280, height: 720 });

    await settings.setQuality("high");
    expect(sent.at(-1)).to.deep.equal({ quality: "high" });
    settings.removeView(b);
    await sleep(150);
    expect(sent.at(-1)).to.deep.equal({ visible: false, width: 660, height: 370 });

    // Received again (re-subscribed): the relay starts from its defaults, so everything that differs goes again.
    settings.deactivate();
    sent.length = 0;
    settings.activate();
    await sleep(0);
    expect(sent).to.deep.equal([{ quality: "high", visible: false, width: 660, height: 370 }]);
  });

  it("observes an element: size in device pixels, off screen and hidden are not visible", async () => {
    const box = document.createElement("div");
    box.style.cssText = "position:absolute;left:0;top:0;width:200px;height:100px;";
    document.body.append(box);
    const views: ElementView[] = [];
    const stop = observeElementView(box, (v) => views.push(v));
    try {
      const dpr = devicePixelRatio;
      await until("first report", () => views.length > 0);
      expect(views.at(-1)).to.deep.equal({ width: Math.round(200 * dpr), height: Math.round(100 * dpr), visible: true });
      box.style.top = "-5000px";
      await until("off screen", () => views.at(-1)?.visible === false);
      box.style.top = "0";
      await until("back", () => views.at(-1)?.visible === true);
      box.style.width = "400px";
      await until("resized", () => views.at(-1)?.width === Math.round(400 * dpr));
      box.hidden = true;
      await until("hidden", () => views.at(-1)?.visible === false);
    } finally {
      stop();
      box.remove();
    }
  });

  it("simulcast presets: three layers from 540p, two from 360p, chosen layers and bitrates", () => {
    const hd = cameraPlan({ width: 1280, height: 720 }, true);
    expect(hd.rids).to.deep.equal(["q", "h", "f"]);
    expect(hd.layerSizes).to.deep.equal([{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }]);
    expect(hd.encodings.map((e) => e.maxBitrate)).to.deep.equal([150_000, 500_000, 1_700_000]);
    expect(cameraPlan({ width: 640, height: 360 }, true).rids).to.deep.equal(["h", "f"]);
    const picked = cameraPlan({ width: 1280, height: 720 }, { layers: ["low", "high"], maxBitrates: { high: 1_000_000 } });
    expect(picked.rids).to.deep.equal(["q", "f"]);
    expect(picked.encodings[1]!.maxBitrate).to.equal(1_000_000);
    expect(cameraPlan({ width: 1280, height: 720 }, false).encodings).to.deep.equal([]);
  });

  describe("with media", function () {
    before(function () {
      if (!mediaNetwork) this.skip();
    });

    it("quality=low decodes the quarter layer; a hidden room element stops receiving until shown", async () => {
      const room = uniqueRoom("quality");
      const ada = mount({ server: config.relay, room, name: "Ada", audio: "off", simulcast: "" }, { width: 640, height: 400 });
      await nextEvent(ada, "joined");
      const bob = mount({ server: config.relay, room, name: "Bob", audio: "off", video: "off", quality: "low" }, { width: 640, height: 400 });
      await nextEvent(bob, "joined");
      const track = () => [...bob.session!.participants.values()][0]?.cameraTrack;
      await until("Bob decodes Ada's low layer", async () => {
        const s = await track()?.getStats();
        return (s?.framesDecoded ?? 0) > 5 && (s?.frameWidth ?? 999) <= 320;
      }, 45_000);
      expect(track()!.quality).to.equal("low");
      const stats = (await track()!.getStats())!;
      expect(stats.quality).to.equal("low");
      expect(stats.frameWidth).to.be.at.most(320);

      bob.parentElement!.style.display = "none"; // the whole call hidden: no tile can be seen
      await sleep(1_500);
      const a = (await track()!.getStats())!.packetsReceived;
      await sleep(1_500);
      const b = (await track()!.getStats())!.packetsReceived;
      expect(b - a, "packets while hidden").to.be.at.most(2);
      bob.parentElement!.style.display = "";
      await until("video again once shown", async () => ((await track()!.getStats())?.packetsReceived ?? 0) > b + 10, 20_000);
    });

    it("observes each remote tile's video: hiding it pauses the video, also after the camera was off and on", async () => {
      const room = uniqueRoom("observed");
      const ada = mount({ server: config.relay, room, name: "Ada", audio: "off" }, { width: 640, height: 400 });
      await nextEvent(ada, "joined");
      const bob = mount({ server: config.relay, room, name: "Bob", audio: "off", video: "off" }, { width: 640, height: 400 });
      bob.id = uniqueRoom("bob");
      await nextEvent(bob, "joined");
      const track = () => [...bob.session!.participants.values()][0]?.cameraTrack;
      const packets = async () => (await track()?.getStats())?.packetsReceived ?? 0;
      const tileVideo = () => remoteTiles(bob)[0]?.dataset.video;
      // The page hides the videos of Bob's tiles (a style through ::part, as any page could write).
      const style = document.createElement("style");
      style.textContent = `#${bob.id}::part(video) { display: none; }`;
      const pausedWhileHidden = async () => {
        document.head.append(style);
        try {
          await sleep(1_500);
          const a = await packets();
          await sleep(1_500);
          expect((await packets()) - a, "packets while the tile's video is hidden").to.be.at.most(2);
        } finally {
          style.remove();
        }
        const b = await packets();
        await until("video again once shown", async () => (await packets()) > b + 10, 20_000);
      };

      await until("Bob receives Ada's video", async () => tileVideo() === "on" && (await packets()) > 10, 30_000);
      await pausedWhileHidden();
      await ada.toggleCamera();
      await until("Ada's camera off at Bob", () => tileVideo() === "off");
      await ada.toggleCamera();
      await until("Ada's camera back at Bob", async () => tileVideo() === "on");
      await pausedWhileHidden();
    });
  });
});

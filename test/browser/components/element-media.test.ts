/** <sfu-room> joined with the fake camera and microphone: self view, toggles, live attributes, devices, leave. */
import { expect } from "@open-wc/testing";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { $, $$, config, mediaNetwork, mount, nextEvent, selfTile, uniqueRoom, unmountAll, until } from "./helpers.ts";

function localTrack(el: SfuRoomElement, source: "camera" | "microphone"): MediaStreamTrack | undefined {
  return el.session?.local.tracks.get(source)?.mediaStreamTrack;
}

describe("<sfu-room> with camera and microphone", function () {
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(unmountAll);

  it("joins by itself, fires joined with the documented detail and shows the self view", async () => {
    const room = uniqueRoom("self");
    const el = mount({ server: config.relay, room, name: "Ada" });
    const { detail } = await nextEvent(el, "joined");
    expect(detail.room).to.equal(room);
    expect(detail.participantId).to.be.a("string").and.not.equal("");
    expect(detail.participants).to.deep.equal([]);
    expect(el.status).to.equal("joined");
    await until("camera captured", () => localTrack(el, "camera")?.readyState === "live");
    await el.updateComplete;
    const tile = selfTile(el)!;
    expect(tile.dataset.video).to.equal("on");
    expect(tile.textContent).to.contain("Ada (you)");
    const video = tile.querySelector("video")!;
    expect(video.hasAttribute("playsinline")).to.equal(true);
    expect(video.muted).to.equal(true);
    expect((video.srcObject as MediaStream).getVideoTracks()[0]).to.equal(localTrack(el, "camera"));
    await until("self view playing", () => video.videoWidth > 0);
    for (const control of $$(el, '[part~="control"]')) {
      expect(control.getBoundingClientRect().height, control.getAttribute("part")!).to.be.at.least(44);
    }
    await until("publisher connected", () => el.session?.peerConnections.publisher?.connectionState === "connected");
  });

  it("turns the camera off and on (the capture really stops and restarts)", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("cam"), name: "Cam" });
    await nextEvent(el, "joined");
    await until("camera captured", () => localTrack(el, "camera")?.readyState === "live");
    const first = localTrack(el, "camera")!;
    expect(await el.toggleCamera()).to.equal(false);
    expect(first.readyState).to.equal("ended");
    expect(localTrack(el, "camera")).to.equal(undefined);
    expect(el.session!.local.tracks.get("camera")!.muted).to.equal(true);
    await el.updateComplete;
    expect(selfTile(el)!.dataset.video).to.equal("off");
    expect($(el, '[part~="control-camera"]')!.getAttribute("aria-pressed")).to.equal("false");
    expect(await el.toggleCamera()).to.equal(true);
    const second = localTrack(el, "camera")!;
    expect(second).to.not.equal(first);
    expect(second.readyState).to.equal("live");
    const sender = el.session!.local.tracks.get("camera")!.sender!;
    expect(sender.track).to.equal(second);
    await el.updateComplete;
    expect(selfTile(el)!.dataset.video).to.equal("on");
  });

  it("toggleCamera() and toggleMicrophone() change the devices, never the page's video and audio", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("own"), name: "Own", video: "on" });
    await nextEvent(el, "joined");
    await until("captures", () => localTrack(el, "camera")?.readyState === "live" && localTrack(el, "microphone")?.readyState === "live");
    expect(await el.toggleCamera()).to.equal(false);
    await el.updateComplete;
    expect(selfTile(el)!.dataset.video).to.equal("off");
    expect(selfTile(el)!.querySelector('[part~="avatar"]'), "the tile shows the avatar").to.not.equal(null);
    expect(el.video).to.equal(true);
    expect(el.getAttribute("video")).to.equal("on");
    expect(await el.toggleMicrophone()).to.equal(false);
    expect(el.audio).to.equal(true);
    expect(el.hasAttribute("audio")).to.equal(false);
    expect(await el.toggleCamera()).to.equal(true);
    await el.updateComplete;
    expect(selfTile(el)!.dataset.video).to.equal("on");
    expect(selfTile(el)!.querySelector('[part~="avatar"]')).to.equal(null);
    expect(el.video).to.equal(true);
    expect(el.getAttribute("video")).to.equal("on");
  });

  it("the page's video and the user's toggles each apply when made", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("wish"), name: "Wish", audio: "off" });
    await nextEvent(el, "joined");
    await until("camera captured", () => localTrack(el, "camera")?.readyState === "live");
    expect(await el.toggleCamera()).to.equal(false);
    expect(await el.toggleCamera()).to.equal(true);
    el.setAttribute("video", "off"); // the page changes its wish: the camera follows
    await until("camera off", () => el.session?.local.isCameraEnabled === false);
    await until("self tile shows the camera off", () => selfTile(el)?.dataset.video === "off");
    expect(localTrack(el, "camera")?.readyState).to.not.equal("live");
    expect(await el.toggleCamera(), "the user may still turn it on").to.equal(true);
    expect(el.getAttribute("video")).to.equal("off");
    expect(el.video).to.equal(false);
    await until("self tile shows the camera", () => selfTile(el)?.dataset.video === "on");
    el.video = true; // already on: nothing to do
    el.video = false;
    await until("camera off again", () => el.session?.local.isCameraEnabled === false);
  });

  it("keeps a toggle made before joining for the join", async () => {
    const el = mount({ manual: "", server: config.relay, room: uniqueRoom("early"), name: "Early", audio: "off" });
    await el.updateComplete;
    expect(await el.toggleCamera()).to.equal(false);
    expect(el.video).to.equal(true);
    await el.join();
    expect(el.session!.local.isCameraEnabled).to.equal(false);
    expect(localTrack(el, "camera")).to.equal(undefined);
    await el.updateComplete;
    expect(selfTile(el)!.dataset.video).to.equal("off");
    expect(await el.toggleCamera()).to.equal(true);
    await until("camera captured", () => localTrack(el, "camera")?.readyState === "live");
  });

  it("mutes and unmutes the microphone", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("mic"), name: "Mic" });
    await nextEvent(el, "joined");
    await until("microphone captured", () => localTrack(el, "microphone")?.readyState === "live");
    expect(await el.toggleMicrophone()).to.equal(false);
    expect(localTrack(el, "microphone")!.enabled).to.equal(false);
    await el.updateComplete;
    expect(selfTile(el)!.dataset.audio).to.equal("muted");
    expect($(el, '[part~="control-microphone"]')!.getAttribute("aria-label")).to.equal("Unmute microphone");
    expect(await el.toggleMicrophone()).to.equal(true);
    expect(localTrack(el, "microphone")!.enabled).to.equal(true);
  });

  it("applies audio and video attribute changes live", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("attr"), name: "Attr", video: "off" });
    await nextEvent(el, "joined");
    await until("microphone captured", () => localTrack(el, "microphone")?.readyState === "live");
    expect(localTrack(el, "camera")).to.equal(undefined);
    el.setAttribute("video", "on");
    await until("camera on", () => localTrack(el, "camera")?.readyState === "live");
    el.setAttribute("audio", "off");
    await until("microphone muted", () => localTrack(el, "microphone")?.enabled === false);
    el.setAttribute("video", "off");
    await until("camera off", () => el.session?.local.isCameraEnabled === false);
    // The tile re-renders on the local track event that follows: wait for what the user sees.
    await until("self tile shows the camera off", () => selfTile(el)?.dataset.video === "off");
    expect(localTrack(el, "camera")?.readyState).to.not.equal("live"); // the capture really stopped
  });

  it("rejoins when the room attribute changes, and leaves", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("a"), name: "Mover", video: "off" });
    const firstJoin = await nextEvent(el, "joined");
    const next = uniqueRoom("b");
    const left = nextEvent(el, "left");
    const joined = nextEvent(el, "joined");
    el.setAttribute("room", next);
    expect((await left).detail).to.deep.equal({ room: firstJoin.detail.room, reason: "rejoin" });
    expect((await joined).detail.room).to.equal(next);
    const userLeft = nextEvent(el, "left");
    await el.leave();
    expect((await userLeft).detail).to.deep.equal({ room: next, reason: "user" });
    await el.updateComplete;
    expect(el.status).to.equal("left");
    expect($(el, '[part~="message"]')!.textContent).to.contain("You left");
    const rejoined = nextEvent(el, "joined");
    $(el, '[part~="action"]')!.click();
    expect((await rejoined).detail.room).to.equal(next);
  });

  it("switches the microphone and camera mid-call with replaceTrack", async () => {
    const el = mount({ server: config.relay, room: uniqueRoom("dev"), name: "Dev" });
    await nextEvent(el, "joined");
    await until("captures", () => localTrack(el, "microphone")?.readyState === "live" && localTrack(el, "camera")?.readyState === "live");
    $(el, '[part~="control-devices"]')!.click();
    await until("device picker", () => $$(el, '[part~="device-select"]').length === 2);
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [kind, source] of [["audioinput", "microphone"], ["videoinput", "camera"]] as const) {
      const current = localTrack(el, source)!;
      const other = devices.find((d) => d.kind === kind && d.deviceId && d.deviceId !== current.getSettings().deviceId && d.deviceId !== "default");
      if (!other) continue; // this browser has one fake device of this kind
      const select = $(el, `select[name="${kind}"]`) as HTMLSelectElement;
      await until(`${kind} options`, () => Array.from(select.options).some((o) => o.value === other.deviceId));
      select.value = other.deviceId;
      select.dispatchEvent(new Event("change"));
      await until(`${source} switched`, () => localTrack(el, source)?.getSettings().deviceId === other.deviceId);
      const publication = el.session!.local.tracks.get(source)!;
      expect(publication.sender!.track).to.equal(localTrack(el, source));
      expect(current.readyState).to.equal("ended");
      expect(publication.trackId, "same relay track: no renegotiation").to.be.a("string");
    }
  });
});

describe("<sfu-room> when the camera cannot be used", () => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  afterEach(async () => {
    navigator.mediaDevices.getUserMedia = original;
    await unmountAll();
  });

  for (const [name, code, text] of [
    ["NotAllowedError", "camera-denied", "Camera access was denied"],
    ["NotFoundError", "camera-missing", "No camera was found"],
  ] as const) {
    it(`shows ${code} and stays in the room`, async () => {
      navigator.mediaDevices.getUserMedia = (constraints?: MediaStreamConstraints) =>
        constraints?.video ? Promise.reject(new DOMException("test", name)) : original(constraints);
      const el = mount({ server: config.relay, room: uniqueRoom(code), name: "NoCam" });
      const error = nextEvent(el, "error");
      await nextEvent(el, "joined");
      const { detail } = await error;
      expect(detail).to.include({ code, fatal: false });
      await until("notice", () => $(el, `[part~="notice"][data-code="${code}"]`) !== null);
      expect($(el, `[part~="notice"][data-code="${code}"]`)!.textContent).to.contain(text);
      expect(el.status).to.equal("joined");
      expect(selfTile(el)!.dataset.video).to.equal("off");
      // The microphone still works.
      await until("microphone captured", () => localTrack(el, "microphone")?.readyState === "live");
    });
  }
});

/**
 * Simulcast is on by default, for the element and the headless Room: the camera's three layers are
 * encoded (outbound-rtp statistics, one entry per rid); and so is adaptive stream for the headless
 * Room's attach(). Chromium only (web-test-runner.config.mjs):
 * its fake camera is 1280x720, the size three layers need; Firefox's fake camera is smaller.
 * Three subscribers pin low, medium and high, so the relay's dynacast keeps every layer wanted.
 */
import { expect } from "@open-wc/testing";
import type { RemoteTrack, Room } from "@sfu-room/sdk";
import { config, disconnectRooms, mount, newRoom, nextEvent, uniqueRoom, unmountAll, until } from "./helpers.ts";

/** The camera sender's outbound-rtp entries by rid: frames encoded so far. */
async function framesByRid(sender: RTCRtpSender): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  (await sender.getStats()).forEach((s: RTCOutboundRtpStreamStats & { rid?: string }) => {
    if (s.type === "outbound-rtp" && s.kind === "video") out[s.rid ?? ""] = s.framesEncoded ?? 0;
  });
  return out;
}

/** Three headless subscribers in `room`, asking `publisher`'s camera for the low, medium and high layer. */
async function pinEveryLayer(room: string, publisherId: () => string): Promise<void> {
  for (const quality of ["low", "medium", "high"] as const) {
    const viewer: Room = newRoom();
    await viewer.connect(config.relay, room, { name: `viewer-${quality}`, audio: false, video: false });
    await until(`the ${quality} viewer sees the camera`, () => viewer.participants.get(publisherId())?.cameraTrack !== undefined);
    await viewer.participants.get(publisherId())!.cameraTrack!.setQuality(quality);
  }
}

async function expectThreeLayersEncoded(sender: RTCRtpSender): Promise<void> {
  expect(sender.getParameters().encodings.map((e) => e.rid)).to.deep.equal(["q", "h", "f"]);
  let frames: Record<string, number> = {};
  await until("q, h and f are all encoded", async () => {
    frames = await framesByRid(sender);
    return ["q", "h", "f"].every((rid) => (frames[rid] ?? 0) > 0);
  }, 40_000);
  expect(Object.keys(frames).sort()).to.deep.equal(["f", "h", "q"]);
}

describe("simulcast by default", function () {
  this.timeout(90_000);
  afterEach(async () => {
    await disconnectRooms();
    await unmountAll();
  });

  it("the element encodes the camera's three layers without any attribute", async () => {
    const room = uniqueRoom("simulcast-default");
    const ada = mount({ server: config.relay, room, name: "Ada", audio: "off" }, { width: 640, height: 400 });
    await nextEvent(ada, "joined");
    await until("camera published", () => ada.session?.local.tracks.get("camera")?.sender !== undefined);
    await pinEveryLayer(room, () => ada.session!.local.id);
    await expectThreeLayersEncoded(ada.session!.local.tracks.get("camera")!.sender!);
  });

  it("the headless Room encodes the camera's three layers without a simulcast option", async () => {
    const room = uniqueRoom("simulcast-default-room");
    const ada = newRoom();
    await ada.connect(config.relay, room, { name: "Ada", audio: false });
    const camera = ada.local.tracks.get("camera")!;
    expect(camera.mediaStreamTrack!.getSettings().height).to.equal(720);
    await pinEveryLayer(room, () => ada.local.id);
    await expectThreeLayersEncoded(camera.sender!);
  });

  it("adaptive stream is on for attach(): a hidden attached video is paused; with adaptiveStream: false it is not", async () => {
    const room = uniqueRoom("adaptive");
    const ada = mount({ server: config.relay, room, name: "Ada", audio: "off" }, { width: 640, height: 400 });
    await nextEvent(ada, "joined");
    /** `viewer`'s <video> of Ada's camera, 160x90 in the page, and the packets it receives. */
    const watch = async (viewer: Room) => {
      let track: RemoteTrack | undefined;
      await until("the viewer receives Ada's camera", () => (track = viewer.participants.get(ada.session!.local.id)?.cameraTrack)?.subscribed === true);
      const video = track!.attach() as HTMLVideoElement;
      video.style.cssText = "width:160px;height:90px";
      document.body.append(video);
      const packets = async () => (await track!.getStats())?.packetsReceived ?? 0;
      await until("the attached video plays", async () => video.videoWidth > 0 && (await packets()) > 10, 30_000);
      return { track: track!, video, packets };
    };
    const packetsWhileHidden = async (v: { video: HTMLVideoElement; packets: () => Promise<number> }) => {
      v.video.style.display = "none";
      await new Promise((r) => setTimeout(r, 1_500));
      const a = await v.packets();
      await new Promise((r) => setTimeout(r, 1_500));
      return (await v.packets()) - a;
    };

    const bob = newRoom();
    await bob.connect(config.relay, room, { name: "Bob", audio: false, video: false });
    const atBob = await watch(bob);
    try {
      expect(await packetsWhileHidden(atBob), "packets while Bob's video is hidden").to.be.at.most(2);
      expect(atBob.track.detach()).to.deep.equal([atBob.video]);
      expect(atBob.video.srcObject).to.equal(null);
    } finally {
      atBob.video.remove();
    }

    const carol = newRoom();
    await carol.connect(config.relay, room, { name: "Carol", audio: false, video: false, adaptiveStream: false });
    const atCarol = await watch(carol);
    try {
      expect(await packetsWhileHidden(atCarol), "packets while Carol's video is hidden").to.be.greaterThan(10);
    } finally {
      atCarol.video.remove();
    }
  });
});

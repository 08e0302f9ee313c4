/**
 * Device choice before connecting. Run in Chromium only (web-test-runner.config.mjs): it is started
 * with two fake cameras, while Firefox's fake devices are one camera and one microphone.
 */
import { expect } from "@open-wc/testing";
import { $, config, disconnectRooms, mount, newRoom, nextEvent, previewPlaying, previewTrack, uniqueRoom, unmountAll, until } from "./helpers.ts";

describe("the headless Room's devices", function () {
  this.timeout(60_000);
  afterEach(async () => {
    await disconnectRooms();
    await unmountAll();
  });

  it("captures the device chosen with switchDevice() before connecting, and nothing before", async () => {
    // Device ids are hidden until the page has captured once.
    const probe = await navigator.mediaDevices.getUserMedia({ video: true });
    const usual = probe.getVideoTracks()[0]!.getSettings().deviceId;
    for (const t of probe.getTracks()) t.stop();
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput" && d.deviceId !== "");
    const other = cameras.find((d) => d.deviceId !== usual);
    expect(other, "a second fake camera (--use-fake-device-for-media-stream=device-count=2)").to.not.equal(undefined);

    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    const captured: MediaStreamTrack[] = [];
    navigator.mediaDevices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
      const stream = await getUserMedia(constraints);
      captured.push(...stream.getTracks());
      return stream;
    };
    try {
      const room = newRoom();
      await room.switchDevice("videoinput", other!.deviceId);
      expect(captured, "nothing to switch yet").to.have.length(0);
      await room.connect(config.relay, uniqueRoom("device"), { name: "Dev", audio: false });
      const camera = room.local.tracks.get("camera")!;
      expect(camera.deviceId).to.equal(other!.deviceId);
      expect(camera.trackId, "published").to.be.a("string");
    } finally {
      navigator.mediaDevices.getUserMedia = getUserMedia;
    }
  });

  it("the pre-join view's camera and microphone are the ones the element joins with", async () => {
    const ada = mount({ server: config.relay, room: uniqueRoom("prejoin-devices"), name: "Ada", prejoin: "" });
    await previewPlaying(ada);
    const picked: Record<string, string> = {};
    for (const kind of ["videoinput", "audioinput"] as const) {
      const select = () => $(ada, `select[name="${kind}"]`) as HTMLSelectElement;
      await until(`two ${kind} devices listed`, () => (select()?.options.length ?? 0) >= 2);
      const other = Array.from(select().options).find((o) => o.value !== select().value && o.value !== "default")!;
      picked[kind] = other.value;
      select().value = other.value;
      select().dispatchEvent(new Event("change"));
    }
    await until("the preview shows the camera picked", () => previewTrack(ada)?.getSettings().deviceId === picked.videoinput);

    const joined = nextEvent(ada, "joined");
    $(ada, '[part~="prejoin-join"]')!.click();
    await joined;
    await until("both published", () => ada.session?.local.tracks.get("camera")?.trackId !== undefined && ada.session.local.tracks.get("microphone")?.trackId !== undefined);
    expect(ada.session!.local.tracks.get("camera")!.deviceId).to.equal(picked.videoinput);
    expect(ada.session!.local.tracks.get("microphone")!.deviceId).to.equal(picked.audioinput);
  });
});

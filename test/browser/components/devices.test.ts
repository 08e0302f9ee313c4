/**
 * Device choice before connecting. Run in Chromium only (web-test-runner.config.mjs): it is started
 * with two fake cameras, while Firefox's fake devices are one camera and one microphone.
 */
import { expect } from "@open-wc/testing";
import { config, disconnectRooms, newRoom, uniqueRoom } from "./helpers.ts";

describe("the headless Room's devices", function () {
  this.timeout(60_000);
  afterEach(disconnectRooms);

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
});

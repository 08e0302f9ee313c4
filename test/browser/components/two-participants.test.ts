/** Two <sfu-room> elements in one page, in the same room: remote tiles, events, media, mute, leave, autoplay. */
import { expect } from "@open-wc/testing";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { $, config, mediaNetwork, mount, nextEvent, remoteTiles, uniqueRoom, unmountAll, until } from "./helpers.ts";

async function remoteVideoFrames(el: SfuRoomElement): Promise<number> {
  let frames = 0;
  for (const p of el.session?.participants.values() ?? []) {
    for (const t of p.videoTracks) frames += (await t.getStats())?.framesDecoded ?? 0;
  }
  return frames;
}

describe("two <sfu-room> elements in one room", function () {
  before(function () {
    if (!mediaNetwork) this.skip();
  });
  afterEach(unmountAll);

  it("see each other, follow mute and camera off, and see the other leave", async () => {
    const room = uniqueRoom("pair");
    const ada = mount({ server: config.relay, room, name: "Ada" }, { width: 640, height: 400 });
    const adaJoined = await nextEvent(ada, "joined");
    const arrival = nextEvent(ada, "participant-joined");
    const bob = mount({ server: config.relay, room, name: "Bob" }, { width: 640, height: 400 });
    const bobJoined = await nextEvent(bob, "joined");
    expect(bobJoined.detail.participants).to.deep.equal([{ id: adaJoined.detail.participantId, name: "Ada" }]);
    expect((await arrival).detail).to.deep.equal({ participant: { id: bobJoined.detail.participantId, name: "Bob" } });

    await until("Bob's tile shows video at Ada", async () => {
      await ada.updateComplete;
      return remoteTiles(ada)[0]?.dataset.video === "on";
    });
    await until("frames decoded at Ada", async () => (await remoteVideoFrames(ada)) > 5);
    await until("frames decoded at Bob", async () => (await remoteVideoFrames(bob)) > 5);
    const tile = remoteTiles(ada)[0]!;
    expect(tile.dataset.participantId).to.equal(bobJoined.detail.participantId);
    expect(tile.textContent).to.contain("Bob");
    expect(tile.querySelector("video")!.hasAttribute("playsinline")).to.equal(true);

    await bob.toggleMicrophone();
    await until("Bob shown muted at Ada", async () => {
      await ada.updateComplete;
      return remoteTiles(ada)[0]?.dataset.audio === "muted" && remoteTiles(ada)[0]?.querySelector('[part~="muted-indicator"]') !== null;
    });
    await bob.toggleCamera();
    await until("Bob's camera off at Ada", async () => {
      await ada.updateComplete;
      return remoteTiles(ada)[0]?.dataset.video === "off";
    });
    await bob.toggleCamera();
    await until("Bob's camera back at Ada", async () => {
      await ada.updateComplete;
      return remoteTiles(ada)[0]?.dataset.video === "on";
    });
    const before = await remoteVideoFrames(ada);
    await until("frames flowing again", async () => (await remoteVideoFrames(ada)) > before + 5);

    const departure = nextEvent(ada, "participant-left");
    await bob.leave();
    expect((await departure).detail).to.deep.equal({ participant: { id: bobJoined.detail.participantId, name: "Bob" } });
    await ada.updateComplete;
    expect(remoteTiles(ada)).to.have.length(0);
  });

  it("asks for a tap when the browser blocks audio autoplay", async () => {
    const play = HTMLMediaElement.prototype.play;
    let blocked = true;
    HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
      if (blocked && this instanceof HTMLAudioElement) return Promise.reject(new DOMException("autoplay blocked", "NotAllowedError"));
      return play.call(this);
    };
    try {
      const room = uniqueRoom("autoplay");
      const ada = mount({ server: config.relay, room, name: "Ada", video: "off" }, { width: 390, height: 500 });
      await nextEvent(ada, "joined");
      mount({ server: config.relay, room, name: "Bob", video: "off" }, { width: 390, height: 500 });
      await until("tap prompt", () => $(ada, '[part~="audio-prompt"]') !== null);
      const prompt = $(ada, '[part~="audio-prompt"]')!;
      expect(prompt.textContent).to.contain("Tap to enable audio");
      expect(prompt.getBoundingClientRect().height).to.be.at.least(44);
      blocked = false;
      prompt.click();
      await until("prompt gone", () => $(ada, '[part~="audio-prompt"]') === null);
      const audio = ada.shadowRoot!.querySelector("audio")!;
      await until("remote audio playing", () => !audio.paused);
    } finally {
      HTMLMediaElement.prototype.play = play;
    }
  });
});

/** The headless Room across connections: one room.local, nothing left open by a cancelled join, tracks bound and unbound (devices chosen early: devices.test.ts). */
import { expect } from "@open-wc/testing";
import { config, disconnectRooms, mediaNetwork, newRoom, nextRoomEvent, rejection, uniqueRoom, until } from "./helpers.ts";

describe("the headless Room", function () {
  this.timeout(60_000);
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  /** Every track getUserMedia handed out during the test. */
  let captured: MediaStreamTrack[] = [];
  /** While set, getUserMedia answers only once it resolves (a user slow to answer the prompt). */
  let prompt: Promise<void> | undefined;
  beforeEach(() => {
    captured = [];
    prompt = undefined;
    navigator.mediaDevices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
      const stream = await getUserMedia(constraints);
      captured.push(...stream.getTracks());
      await prompt;
      return stream;
    };
  });
  afterEach(async () => {
    navigator.mediaDevices.getUserMedia = getUserMedia;
    await disconnectRooms();
  });

  it("keeps one room.local, whose listeners fire across disconnect and connect", async () => {
    const room = newRoom();
    const local = room.local;
    const published: string[] = [];
    const unpublished: string[] = [];
    const updated: string[] = [];
    local.on("track-published", (t) => published.push(t.source));
    local.on("track-unpublished", (t) => unpublished.push(t.source));
    local.on("track-updated", (t) => updated.push(t.source));

    await room.connect(config.relay, uniqueRoom("local"), { name: "Ada", video: false });
    expect(published).to.deep.equal(["microphone"]);
    const firstId = local.id;
    const firstMicrophone = local.tracks.get("microphone")!.mediaStreamTrack!;

    await room.disconnect();
    expect(room.local).to.equal(local);
    expect(unpublished).to.deep.equal(["microphone"]);
    expect(firstMicrophone.readyState).to.equal("ended");
    expect(local.tracks.size).to.equal(0);
    expect(local.id).to.equal("");

    await room.connect(config.relay, uniqueRoom("local"), { name: "Ada", video: false });
    expect(room.local).to.equal(local);
    expect(published).to.deep.equal(["microphone", "microphone"]);
    expect(local.id).to.be.a("string").and.not.equal("").and.not.equal(firstId);
    expect(local.tracks.get("microphone")!.mediaStreamTrack!.readyState).to.equal("live");
    await room.setMicrophoneEnabled(false);
    expect(updated).to.deep.equal(["microphone"]);
  });

  it("a camera still being captured when the room disconnects is stopped when it arrives", async () => {
    const room = newRoom();
    await room.connect(config.relay, uniqueRoom("late-capture"), { name: "Ada", video: false });
    let answer!: () => void;
    prompt = new Promise((resolve) => (answer = resolve));
    const turningOn = room.setCameraEnabled(true).catch(() => undefined);
    await until("the camera capture started", () => captured.some((t) => t.kind === "video"));
    await room.disconnect();
    answer();
    await turningOn;
    expect(captured.filter((t) => t.kind === "video").map((t) => t.readyState)).to.deep.equal(["ended"]);
    expect(room.local.tracks.size).to.equal(0);
  });

  it("leaves nothing open when disconnect() comes before the relay answered", async () => {
    const room = newRoom();
    const joining = rejection(room.connect(config.relay, uniqueRoom("cancel"), { name: "Ada" }));
    await room.disconnect();
    expect((await joining).code).to.equal("join-failed");
    expect(room.state).to.equal("disconnected");
    expect(room.peerConnections).to.deep.equal({ publisher: undefined, subscriber: undefined });
    // The camera and microphone asked for by connect() arrive after the cancel: they must be stopped, not kept.
    await until("the join's captures stopped", () => captured.length === 2 && captured.every((t) => t.readyState === "ended"));
    expect(room.local.tracks.size).to.equal(0);
  });

  it("leaves nothing open when disconnect() comes just after joining, while publishing", async () => {
    const roomName = uniqueRoom("cancel");
    const room = newRoom();
    let opened: { publisher: RTCPeerConnection | undefined; subscriber: RTCPeerConnection | undefined } | undefined;
    let leaving: Promise<void> | undefined;
    room.on("connection-state", ({ state }) => {
      if (state !== "connected" || leaving) return;
      opened = room.peerConnections;
      leaving = room.disconnect();
    });
    await room.connect(config.relay, roomName, { name: "Ada" }).catch(() => undefined);
    await leaving;
    expect(room.state).to.equal("disconnected");
    expect(room.peerConnections).to.deep.equal({ publisher: undefined, subscriber: undefined });
    expect(opened!.publisher!.connectionState).to.equal("closed");
    if (opened!.subscriber) expect(opened!.subscriber.connectionState).to.equal("closed");
    await until("the join's captures stopped", () => captured.length === 2 && captured.every((t) => t.readyState === "ended"));
    expect(room.local.tracks.size).to.equal(0);
    // The relay let Ada go: the next one in finds an empty room.
    const bob = newRoom();
    await bob.connect(config.relay, roomName, { name: "Bob", audio: false, video: false });
    expect(bob.participants.size).to.equal(0);
  });

  it("unbinds a remote track's media on track-unsubscribed and binds it again on resubscribe", async function () {
    if (!mediaNetwork) this.skip();
    const roomName = uniqueRoom("bind");
    const ada = newRoom();
    const bob = newRoom();
    await ada.connect(config.relay, roomName, { name: "Ada", audio: false });
    const subscribed = nextRoomEvent(bob, "track-subscribed");
    await bob.connect(config.relay, roomName, { name: "Bob", audio: false, video: false });
    const { participant, track } = await subscribed;
    expect(track.kind).to.equal("video");
    expect(track.mediaStreamTrack?.kind).to.equal("video");

    const unsubscribed = new Promise<{ same: boolean; subscribed: boolean; media: unknown; receiver: unknown; mid: unknown }>((resolve) =>
      bob.once("track-unsubscribed", (e) =>
        resolve({ same: e.track === track, subscribed: e.track.subscribed, media: e.track.mediaStreamTrack, receiver: e.track.receiver, mid: e.track.mid }),
      ),
    );
    await bob.setSubscribed(track.id, false);
    expect(await unsubscribed).to.deep.equal({ same: true, subscribed: false, media: undefined, receiver: undefined, mid: undefined });
    expect(participant.tracks.get(track.id), "still published").to.equal(track);
    expect(await track.getStats()).to.equal(undefined);

    const resubscribed = nextRoomEvent(bob, "track-subscribed");
    await bob.setSubscribed(track.id, true);
    expect((await resubscribed).track).to.equal(track);
    expect(track.subscribed).to.equal(true);
    expect(track.mediaStreamTrack!.readyState).to.equal("live");
    await until("frames decoded again", async () => ((await track.getStats())?.framesDecoded ?? 0) > 0);
  });
});

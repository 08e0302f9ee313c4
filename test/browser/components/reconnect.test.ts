/**
 * Staying in the call: the Room and <sfu-room> after their signaling WebSocket is cut (a TCP proxy
 * between the page and a real relay, support/proxy-control.ts): back in by a rejoin when the relay no
 * longer has the session, the same local tracks published again; disconnect() during reconnecting;
 * giving up after the limit.
 */
import { expect } from "@open-wc/testing";
import { type Room, RoomError } from "@sfu-room/sdk";
import { $, config, disconnectRooms, mediaNetwork, mount, newRoom, nextEvent, nextRoomEvent, rejection, remoteTiles, selfTile, signalingProxy, uniqueRoom, unmountAll, until } from "./helpers.ts";

/** Every reconnection event of a room, in order, as short strings. */
function recordReconnection(room: Room): string[] {
  const seen: string[] = [];
  room.on("reconnecting", ({ attempt, reason }) => seen.push(`reconnecting ${attempt} ${reason}`));
  room.on("resumed", () => seen.push("resumed"));
  room.on("rejoined", () => seen.push("rejoined"));
  room.on("disconnected", ({ reason }) => seen.push(`disconnected ${reason}`));
  return seen;
}

async function framesDecoded(room: Room, participantId: string): Promise<number> {
  const track = room.participants.get(participantId)?.cameraTrack;
  return (await track?.getStats())?.framesDecoded ?? 0;
}

const received = (room: Room) => {
  const messages: string[] = [];
  room.on("data", ({ payload }) => messages.push(String(payload)));
  return messages;
};

describe("reconnecting", function () {
  this.timeout(90_000);
  afterEach(async () => {
    await disconnectRooms();
    await unmountAll();
  });

  it("rejoins by itself when the relay no longer has the session, publishing the same camera again", async function () {
    if (!mediaNetwork) this.skip();
    const proxy = await signalingProxy("noResumeRelay");
    const roomName = uniqueRoom("rejoin");
    const ada = newRoom();
    const bob = newRoom();
    await ada.connect(proxy.url, roomName, { name: "Ada", audio: false });
    await bob.connect(config.noResumeRelay, roomName, { name: "Bob", audio: false, video: false });
    const firstId = ada.local.id;
    await until("Bob decodes Ada", async () => (await framesDecoded(bob, firstId)) > 0);
    await until("Ada knows Bob", () => ada.participants.has(bob.local.id));
    const bobSeenByAda = ada.participants.get(bob.local.id);
    const camera = ada.local.tracks.get("camera")!.mediaStreamTrack!;
    const seen = recordReconnection(ada);
    const bobGets = received(bob);
    const states: string[] = [];
    ada.on("connection-state", ({ state }) => states.push(state));
    // A message sent during the gap waits; the rejoin replaces the data channel, so it is refused, not lost silently.
    let duringGap: Promise<RoomError> | undefined;
    ada.once("reconnecting", () => (duringGap = rejection(ada.send("sent during the gap"))));

    const rejoined = nextRoomEvent(ada, "rejoined");
    await proxy.cut(0);
    const { participantId } = await rejoined;

    // The first attempt may meet the proxy before it listens again: then a second one at 300 ms.
    expect(seen[0]).to.equal("reconnecting 1 signaling-lost");
    expect(seen.slice(1, -1).every((e) => e.startsWith("reconnecting "))).to.equal(true);
    expect(seen.at(-1)).to.equal("rejoined");
    expect(states.slice(0, 2)).to.deep.equal(["reconnecting", "connected"]);
    expect(participantId).to.equal(ada.local.id).and.not.equal(firstId);
    expect(ada.local.tracks.get("camera")!.mediaStreamTrack, "the same capture").to.equal(camera);
    expect(camera.readyState).to.equal("live");
    expect(ada.local.tracks.get("camera")!.trackId, "published again").to.be.a("string");
    expect(ada.participants.get(bob.local.id), "Bob, unchanged, is kept").to.equal(bobSeenByAda);
    expect((await duringGap!).code).to.equal("data-not-delivered");

    // Bob saw the old Ada go and the new one come, and decodes her again.
    await until("Bob sees the new Ada only", () => bob.participants.has(participantId) && !bob.participants.has(firstId));
    await until("Bob decodes the new Ada", async () => (await framesDecoded(bob, participantId)) > 0);
    await ada.send("after the rejoin");
    await until("Bob got the message sent after the rejoin", () => bobGets.length > 0);
    expect(bobGets).to.deep.equal(["after the rejoin"]);
  });

  it("resumes after a signaling cut: same id, same peer connections and remote media; the gap's changes reconciled, its data delivered once", async function () {
    if (!mediaNetwork) this.skip();
    const proxy = await signalingProxy("relay");
    const roomName = uniqueRoom("resume");
    const ada = newRoom();
    const bob = newRoom();
    await ada.connect(proxy.url, roomName, { name: "Ada", audio: false });
    await bob.connect(config.relay, roomName, { name: "Bob", video: false });
    const id = ada.local.id;
    await until("Bob decodes Ada", async () => (await framesDecoded(bob, id)) > 0);
    await until("Ada receives Bob's microphone", () => ada.participants.get(bob.local.id)?.microphoneTrack?.subscribed === true);
    const bobMicrophone = ada.participants.get(bob.local.id)!.microphoneTrack!;
    const bobMedia = bobMicrophone.mediaStreamTrack!;
    const pcs = ada.peerConnections;
    const seen = recordReconnection(ada);
    const changes: string[] = [];
    ada.on("participant-joined", ({ participant }) => changes.push(`joined ${participant.name}`));
    ada.on("participant-left", ({ participant }) => changes.push(`left ${participant.name}`));
    ada.on("track-muted", ({ participant, track }) => changes.push(`muted ${participant.name} ${track.source}`));
    ada.on("track-unsubscribed", ({ participant, track }) => changes.push(`unsubscribed ${participant.name} ${track.source}`));
    const bobGets = received(bob);
    let duringGap: Promise<string> | undefined;
    ada.once("reconnecting", () => (duringGap = ada.send("sent during the gap")));

    const resumed = nextRoomEvent(ada, "resumed");
    await proxy.cut(3_000);
    // Meanwhile Bob mutes and Carol joins: Ada, away, learns it from the resume's snapshot.
    await bob.setMicrophoneEnabled(false);
    const carol = newRoom();
    await carol.connect(config.relay, roomName, { name: "Carol", audio: false, video: false });
    await resumed;

    expect(seen[0]).to.equal("reconnecting 1 signaling-lost");
    expect(seen.at(-1)).to.equal("resumed");
    expect(seen).to.not.include("rejoined");
    expect(ada.state).to.equal("connected");
    expect(ada.local.id, "the same participant").to.equal(id);
    expect(ada.peerConnections.publisher).to.equal(pcs.publisher);
    expect(ada.peerConnections.subscriber).to.equal(pcs.subscriber);
    expect(bobMicrophone.mediaStreamTrack, "Bob's microphone kept its media").to.equal(bobMedia);
    expect(bobMedia.readyState).to.equal("live");
    expect(changes).to.include("joined Carol").and.include("muted Bob microphone");
    expect(changes.filter((c) => c.startsWith("left") || c.startsWith("unsubscribed"))).to.deep.equal([]);
    expect(await duringGap!).to.equal("sent");
    await ada.send("after the resume");
    await until("Bob got both messages", () => bobGets.length >= 2);
    expect(bobGets, "each once, in order").to.deep.equal(["sent during the gap", "after the resume"]);
    const frames = await framesDecoded(bob, id);
    await until("Bob still decodes Ada", async () => (await framesDecoded(bob, id)) > frames);
  });

  it("restarts ICE on both connections, without reconnecting, when the browser says the network changed", async function () {
    if (!mediaNetwork) this.skip();
    const roomName = uniqueRoom("ice-restart");
    const ada = newRoom();
    const bob = newRoom();
    await ada.connect(config.relay, roomName, { name: "Ada", audio: false });
    await bob.connect(config.relay, roomName, { name: "Bob", audio: false });
    await until("Bob decodes Ada", async () => (await framesDecoded(bob, ada.local.id)) > 0);
    await until("Ada decodes Bob", async () => (await framesDecoded(ada, bob.local.id)) > 0);
    const ufrags = () => {
      const { publisher, subscriber } = ada.peerConnections;
      const ufrag = (sdp: string | undefined) => /a=ice-ufrag:(\S+)/.exec(sdp ?? "")?.[1];
      return [publisher?.localDescription?.sdp, publisher?.remoteDescription?.sdp, subscriber?.localDescription?.sdp, subscriber?.remoteDescription?.sdp].map(ufrag);
    };
    const before = ufrags();
    const seen = recordReconnection(ada);
    const frames = { ada: await framesDecoded(ada, bob.local.id), bob: await framesDecoded(bob, ada.local.id) };

    window.dispatchEvent(new Event("online"));
    await until("fresh ICE credentials on both sides of both connections", () => ufrags().every((u, i) => u !== undefined && u !== before[i]));

    await until("Ada still decodes Bob", async () => (await framesDecoded(ada, bob.local.id)) > frames.ada);
    await until("Bob still decodes Ada", async () => (await framesDecoded(bob, ada.local.id)) > frames.bob);
    expect(seen, "no reconnection").to.deep.equal([]);
    expect(ada.state).to.equal("connected");
  });

  it("disconnect() while reconnecting stops at once and leaves nothing open", async function () {
    if (!mediaNetwork) this.skip();
    const proxy = await signalingProxy("noResumeRelay");
    const ada = newRoom();
    await ada.connect(proxy.url, uniqueRoom("stop"), { name: "Ada", video: false });
    const microphone = ada.local.tracks.get("microphone")!.mediaStreamTrack!;
    const pcs = ada.peerConnections;
    const seen = recordReconnection(ada);
    const second = nextRoomEvent(ada, "reconnecting").then(() => nextRoomEvent(ada, "reconnecting"));
    await proxy.cut(60_000); // refused for longer than the test
    await second; // attempt 1 failed, attempt 2 starts (300 ms later)

    const held = rejection(ada.send("never sent"));
    await ada.disconnect();
    expect(ada.state).to.equal("disconnected");
    expect(seen).to.deep.equal(["reconnecting 1 signaling-lost", "reconnecting 2 signaling-lost", "disconnected client"]);
    expect(ada.peerConnections).to.deep.equal({ publisher: undefined, subscriber: undefined });
    expect(pcs.publisher!.connectionState).to.equal("closed");
    expect(pcs.subscriber!.connectionState).to.equal("closed");
    expect(microphone.readyState).to.equal("ended");
    expect((await held).code).to.equal("data-channel-closed");
    // No attempt starts after the disconnect: the third would have come 1.2-2.2 s after the second.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(seen.length).to.equal(3);
  });

  it("disconnect() while the relay still holds the lost session: the others see the participant leave now, not at the window's end", async function () {
    if (!mediaNetwork) this.skip();
    // The relay keeps a lost session two minutes: the leave can only come from the client.
    const proxy = await signalingProxy("longResumeRelay");
    const roomName = uniqueRoom("leave-held");
    const bob = newRoom();
    await bob.connect(config.longResumeRelay, roomName, { name: "Bob", audio: false, video: false });
    const ada = newRoom();
    await ada.connect(proxy.url, roomName, { name: "Ada", audio: false, video: false });
    await until("bob sees ada", () => bob.participants.has(ada.local.id));
    const adaId = ada.local.id;
    const left = nextRoomEvent(bob, "participant-left");
    // The WebSocket is reset (new ones are let through at once): the user leaves as reconnecting begins.
    ada.once("reconnecting", () => void ada.disconnect());
    await proxy.cut(0);
    expect((await left).participant.id, "bob saw ada leave (long before the window's end)").to.equal(adaId);
    expect(ada.state).to.equal("disconnected");
  });

  it("gives up after reconnectTimeoutMs with reconnect-failed, and ends the session", async () => {
    const proxy = await signalingProxy("noResumeRelay");
    const ada = newRoom();
    await ada.connect(proxy.url, uniqueRoom("give-up"), { name: "Ada", audio: false, video: false, reconnectTimeoutMs: 1_000 });
    const seen = recordReconnection(ada);
    const errors: string[] = [];
    ada.on("error", (e) => errors.push(e.code));
    const disconnected = nextRoomEvent(ada, "disconnected");
    await proxy.cut(60_000);
    const { reason, error } = await disconnected;
    expect(reason).to.equal("connection-lost");
    expect(error?.code).to.equal("reconnect-failed");
    expect(error?.message).to.contain("could not be restored").and.contain("Check the network");
    expect(errors).to.deep.equal(["reconnect-failed"]);
    // At 0 and 300 ms; the third would start 1.2-2.2 s later, past the 1 s limit: two attempts.
    expect(seen).to.deep.equal(["reconnecting 1 signaling-lost", "reconnecting 2 signaling-lost", "disconnected connection-lost"]);
    expect(ada.state).to.equal("disconnected");
    expect(ada.peerConnections).to.deep.equal({ publisher: undefined, subscriber: undefined });
  });

  it("<sfu-room> shows Reconnecting… over the tiles, re-emits the events, and is back to normal after the rejoin", async function () {
    if (!mediaNetwork) this.skip();
    const proxy = await signalingProxy("noResumeRelay");
    const roomName = uniqueRoom("element-rejoin");
    const bob = newRoom();
    await bob.connect(config.noResumeRelay, roomName, { name: "Bob", audio: false });
    const el = mount({ server: proxy.url, room: roomName, name: "Ada", audio: "off" });
    await nextEvent(el, "joined");
    await until("Bob's tile shows video", () => remoteTiles(el)[0]?.dataset.video === "on");
    const removedTiles: string[] = [];
    const reconnecting = nextEvent(el, "reconnecting");
    const rejoined = nextEvent(el, "rejoined");
    await proxy.cut(1_500);
    expect((await reconnecting).detail).to.deep.equal({ attempt: 1, reason: "signaling-lost" });
    await el.updateComplete;
    expect(el.status).to.equal("reconnecting");
    expect($(el, '[part="reconnecting"][role="status"]')!.textContent).to.contain("Reconnecting");
    expect(remoteTiles(el).map((t) => t.dataset.participantId), "the tiles stay").to.deep.equal([bob.local.id]);
    expect(selfTile(el)!.dataset.video).to.equal("on");
    const observer = new MutationObserver((records) => {
      for (const r of records) for (const n of Array.from(r.removedNodes)) if (n instanceof HTMLElement && n.classList.contains("tile")) removedTiles.push(n.dataset.participantId ?? "");
    });
    observer.observe(el.shadowRoot!, { childList: true, subtree: true });

    const { detail } = await rejoined;
    expect(detail.participantId).to.equal(el.session!.local.id);
    await el.updateComplete;
    observer.disconnect();
    expect(el.status).to.equal("joined");
    expect($(el, '[part="reconnecting"]')).to.equal(null);
    expect(removedTiles, "Bob kept his id: his tile was never removed").to.deep.equal([]);
    await until("Bob's video is back in his tile", () => remoteTiles(el)[0]?.dataset.video === "on");
    await until("Bob sees the rejoined Ada's camera", () => bob.participants.get(detail.participantId)?.cameraTrack?.subscribed === true);
  });
});

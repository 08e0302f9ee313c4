/**
 * Active speakers over real connections: two werift publishers put audio levels in the ssrc-audio-level
 * header extension, as browsers do; the relay reads them, tells the room who speaks (active-speakers),
 * and passes each level on to the subscribers under their own extension id.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import type { ServerMessage } from "@sfu-room/protocol";
import { eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

type ActiveSpeakers = Extract<ServerMessage, { type: "active-speakers" }>;

describe("active speakers on the relay", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let pacer: Pacer | undefined;
  afterEach(async () => {
    await pacer?.stop();
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("follows who is louder, holds through equal levels without flapping, and passes the levels on", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const alice = await joinClient(relay, "talk", "alice", log);
    const bob = await joinClient(relay, "talk", "bob", log);
    const carol = await joinClient(relay, "talk", "carol", log);
    clients.push(alice, bob, carol);
    const [aliceMic] = await alice.publish([{ kind: "audio" }]);
    const [bobMic] = await bob.publish([{ kind: "audio" }]);
    aliceMic!.audioLevel = 127;
    bobMic!.audioLevel = 127;
    pacer = new Pacer(() => clients);
    pacer.start();

    /** The speaker lists carol heard, as participant ids (dominant first). */
    const heard = () => carol.events.filter((e): e is ActiveSpeakers => e.type === "active-speakers").map((e) => e.speakers.map((s) => s.participantId));
    const { participantId: a } = alice;
    const { participantId: b } = bob;

    // The level reaches carol under carol's extension id, which is not alice's.
    await eventually("carol receives alice's silence level", () => carol.received.get(aliceMic!.trackId)?.lastAudioLevel === 127);
    const publisherId = aliceMic!.audioLevelId;
    const subscriberId = /^a=extmap:(\d+) urn:ietf:params:rtp-hdrext:ssrc-audio-level/m.exec(carol.lastSubscriberOffer)?.[1];
    expect(publisherId).toBeDefined();
    expect(Number(subscriberId)).not.toBe(publisherId);
    expect(heard(), "silence: nobody speaks").toEqual([]);

    aliceMic!.audioLevel = 20;
    await eventually("alice speaks", () => heard().length === 1);
    expect(heard()).toEqual([[a]]);
    expect(carol.received.get(aliceMic!.trackId)?.lastAudioLevel).toBe(20);

    // bob as loud as alice: bob joins the set, alice stays dominant, and it stays so.
    bobMic!.audioLevel = 20;
    await eventually("bob speaks too", () => heard().length === 2);
    await sleep(3000);
    expect(heard()).toEqual([[a], [a, b]]);

    // bob much louder: bob takes over.
    bobMic!.audioLevel = 0;
    await eventually("bob dominates", () => heard().length === 3);
    expect(heard()).toEqual([[a], [a, b], [b, a]]);
    expect(carol.received.get(bobMic!.trackId)?.lastAudioLevel).toBe(0);

    // Everyone silent: the set empties (after the hold), and everyone in the room is told.
    aliceMic!.audioLevel = 127;
    bobMic!.audioLevel = 127;
    await eventually("nobody speaks", () => heard().at(-1)?.length === 0);
    for (const c of [alice, bob]) expect(c.events.filter((e) => e.type === "active-speakers").at(-1)).toEqual({ type: "active-speakers", speakers: [] });
  }, 30_000);
});

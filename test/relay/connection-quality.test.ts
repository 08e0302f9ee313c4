/**
 * Connection quality over real connections: a werift publisher's microphone loses packets on the way
 * (sequence numbers skipped, as a lossy uplink does), then stops; the room hears the relay's rating
 * of it go poor, good, lost and good, and a late joiner hears the rating that holds.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import type { ParticipantQuality, ServerMessage } from "@sfu-room/protocol";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

type QualityMessage = Extract<ServerMessage, { type: "connection-quality" }>;

/** The ratings of `participantId` that `client` heard, in order. */
function ratings(client: WeriftClient, participantId: string): ParticipantQuality[] {
  return client.events.filter((e): e is QualityMessage => e.type === "connection-quality").flatMap((e) => e.updates.filter((u) => u.participantId === participantId));
}

describe("connection quality on the relay", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let pacer: Pacer | undefined;
  let losing: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(losing);
    await pacer?.stop();
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("rates a publisher poor under 10 % uplink loss, good without, lost when its microphone stops, and tells a late joiner", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const alice = await joinClient(relay, "quality", "alice", log);
    const bob = await joinClient(relay, "quality", "bob", log);
    clients.push(alice, bob);
    const [mic] = await alice.publish([{ kind: "audio" }]);
    let sending = true;
    pacer = new Pacer(() => (sending ? [alice] : []));
    pacer.start();
    const a = alice.participantId;
    const heard = () => ratings(bob, a).map((r) => r.quality);

    await eventually("bob receives alice's microphone", () => (bob.received.get(mic!.trackId)?.packets ?? 0) > 150);
    expect(heard(), "a clean path is good: nothing is said").toEqual([]);

    // One packet in ten lost (a 20 ms packet every 20 ms, one skipped every 200 ms).
    losing = setInterval(() => mic!.losePackets(1), 200);
    await eventually("alice is rated poor", () => heard().length === 1, 10_000);
    const poor = ratings(bob, a)[0]!;
    expect(poor.quality).toBe("poor");
    expect(poor.loss).toBeGreaterThanOrEqual(0.05);
    expect(poor.loss).toBeLessThan(0.2);
    expect(ratings(alice, a), "alice hears her own rating").toEqual([poor]);

    clearInterval(losing);
    await eventually("alice is good again", () => heard().length === 2, 10_000);
    // The interval that turns good may still hold the last skipped packet (it straddled clearInterval;
    // CI once saw 0.01): good means under the poor threshold, not none.
    const good = ratings(bob, a)[1]!;
    expect(good.quality).toBe("good");
    expect(good.loss).toBeLessThan(0.05);

    sending = false;
    await eventually("alice's microphone stopped: lost", () => heard().length === 3, 10_000);
    expect(heard()).toEqual(["poor", "good", "lost"]);

    const carol = await joinClient(relay, "quality", "carol", log);
    clients.push(carol);
    await eventually("carol hears a rating", () => carol.events.some((e) => e.type === "connection-quality"), 5000);
    expect(carol.events.find((e) => e.type === "connection-quality"), "carol hears who is not good at once").toEqual({
      type: "connection-quality",
      updates: [ratings(bob, a)[2]],
    });

    sending = true;
    await eventually("alice is back: good", () => heard().length === 4, 10_000);
    expect(heard()).toEqual(["poor", "good", "lost", "good"]);
  }, 60_000);
});

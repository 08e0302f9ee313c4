/**
 * Participants leaving (cleanly, or by dropping their socket and not resuming within the window)
 * release everything on the relay: its counts go to zero, and the process's UDP sockets and timers
 * return to what they were before.
 */
import { describe, expect, it } from "vitest";
import { eventually, joinClient, resourceCounts, resumeWindow, sleep, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

describe("no leaks", () => {
  it("after everyone leaves, the relay holds no peer connections, sockets or timers for them", async () => {
    await sleep(200);
    const baseline = resourceCounts();
    // Dropped participants are kept for a short resume window, then released.
    const relay = await startTestRelay(resumeWindow(500));
    const afterStart = resourceCounts();
    const log: SentLog = new Map();
    const clients: WeriftClient[] = [];
    for (let round = 0; round < 2; round++) {
      for (const name of ["a", "b", "c", "d"]) {
        const c = await joinClient(relay, `leaky-${round}`, name, log);
        await c.publish([{ kind: "audio" }, { kind: "video" }]);
        clients.push(c);
      }
      const pacer = new Pacer(() => clients);
      pacer.start();
      await eventually("everyone receives 6 tracks", () => clients.every((c) => c.received.size === 6));
      expect(relay.stats().peerConnections).toBe(8);
      // One UDP socket per connection on each side: the counts below really measure something.
      expect((resourceCounts().UDPWrap ?? 0) - (afterStart.UDPWrap ?? 0)).toBeGreaterThanOrEqual(16);
      await pacer.stop();
      // Half leave politely, half just drop their connections.
      for (const [i, c] of clients.entries()) {
        if (i % 2 === 0) await c.request({ type: "leave", id: "bye" });
        await c.close();
      }
      clients.length = 0;
      await eventually("the relay released everyone", () => relay.stats().sessions === 0 && relay.stats().participants === 0);
      expect(relay.stats()).toEqual({
        rooms: 0, participants: 0, tracks: 0, subscriptions: 0, pendingKeyframeRequests: 0, resumes: 0, resumeRefusals: 0, rejoins: 0, peerConnections: 0, sessions: 0,
        layerSwitches: 0, dataRelayed: 0, dataRefused: 0,
        // Counters of what happened to the media (a packet lost on loopback is NACKed): not state held.
        retransmits: expect.any(Number), retransmitsWithheld: expect.any(Number), nackedToPublishers: expect.any(Number), lossesGivenUp: expect.any(Number), pacerDropped: expect.any(Number),
        probes: expect.any(Number), probesSucceeded: expect.any(Number), probePackets: expect.any(Number),
      });
    }
    // Sockets and timers: back to what the idle relay had (werift closes sockets asynchronously).
    await eventually("UDP sockets released", () => (resourceCounts().UDPWrap ?? 0) === (afterStart.UDPWrap ?? 0), 10_000);
    await eventually("timers released", () => (resourceCounts().Timeout ?? 0) <= (afterStart.Timeout ?? 0), 10_000);
    await relay.close();
    await eventually("everything back to the baseline", () => {
      const now = resourceCounts();
      return ["UDPWrap", "TCPWrap", "TCPServerWrap", "Timeout"].every((k) => (now[k] ?? 0) <= (baseline[k] ?? 0));
    }, 10_000);
  });

  it("a participant removed at the end of its resume window releases its connections and timers", async () => {
    await sleep(200);
    const relay = await startTestRelay(resumeWindow(1000));
    const afterStart = resourceCounts();
    const log: SentLog = new Map();
    const stays = await joinClient(relay, "window", "stays", log);
    await stays.publish([{ kind: "audio" }]);
    const afterFirst = resourceCounts();
    const away = await joinClient(relay, "window", "away", log);
    await away.publish([{ kind: "audio" }, { kind: "video" }]);
    const pacer = new Pacer(() => [stays, away]);
    pacer.start();
    await eventually("both receive", () => stays.received.size === 2 && away.received.size === 1);
    await pacer.stop();
    away.dropSignaling();
    await eventually("the relay noticed the drop", () => relay.stats().sessions === 1);
    // Away: everything of theirs is still held, and the others were told nothing.
    expect(relay.stats()).toMatchObject({ participants: 2, tracks: 3, peerConnections: 4 });
    await eventually("the window ends and the others are told", () =>
      stays.events.some((e) => e.type === "participant-left" && e.participantId === away.participantId),
    );
    expect(stays.events.filter((e) => e.type === "track-unpublished").length).toBe(2);
    await eventually("the relay released it", () => relay.stats().participants === 1 && relay.stats().peerConnections === 2);
    expect(relay.stats()).toMatchObject({ rooms: 1, tracks: 1, subscriptions: 0, sessions: 1 });
    await away.close();
    // The relay's sockets for it (and the client's own) are gone; once the other one is gone too, every
    // timer is (the away deadline's, the link's watch, the session's).
    await eventually("UDP sockets released", () => (resourceCounts().UDPWrap ?? 0) === (afterFirst.UDPWrap ?? 0), 10_000);
    await stays.close();
    await eventually("the relay is empty", () => relay.stats().participants === 0 && relay.stats().sessions === 0);
    await eventually("timers released", () => (resourceCounts().Timeout ?? 0) <= (afterStart.Timeout ?? 0), 10_000);
    await relay.close();
  });

  it("a client that vanishes without closing its socket is removed after two missed pings and its resume window", async () => {
    const relay = await startTestRelay({ pingIntervalMs: 200, ...resumeWindow(300) });
    const log: SentLog = new Map();
    const stays = await joinClient(relay, "gone", "stays", log);
    const vanishes = await joinClient(relay, "gone", "vanishes", log);
    await vanishes.publish([{ kind: "audio" }]);
    await eventually("stays sees the track", () => stays.events.some((e) => e.type === "track-published"));
    // Stop reading the socket: no more pongs, as when the network disappears under a client.
    (vanishes.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually("the others are told", () =>
      stays.events.some((e) => e.type === "participant-left" && e.participantId === vanishes.participantId),
    );
    expect(stays.events.some((e) => e.type === "track-unpublished")).toBe(true);
    await eventually("the relay released it", () => relay.stats().participants === 1 && relay.stats().peerConnections === 1);
    await Promise.all([stays.close(), vanishes.close()]);
    await relay.close();
  });
});

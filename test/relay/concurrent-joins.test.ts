/**
 * shared/seeds/000: with str0m only 20-30% of concurrent clients completed DTLS. Here 30 clients join
 * one room at once; every one must connect both of its connections and receive media, with the DTLS
 * roles of every offer/answer pair complementary (offer actpass, answer active).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";

const JOINERS = Number(process.env.JOINERS ?? 30);

describe("concurrent joins", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it(`${JOINERS} clients joining at once all connect and receive media`, async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const host = await joinClient(relay, "storm", "host", log);
    await host.publish([{ kind: "audio" }, { kind: "video", payloadBytes: 300 }]);
    clients.push(host);
    const pacer = new Pacer(() => [host], 1);
    pacer.start();

    const joiners = Array.from({ length: JOINERS }, (_, i) => new WeriftClient({ name: `j${i}`, log }));
    clients.push(...joiners);
    const results = await Promise.allSettled(
      joiners.map(async (c) => {
        await c.connect(relay!.signalUrl);
        await c.join("storm");
        // Each joiner also publishes (a silent-sized audio track, not paced) so both of its connections do DTLS.
        await c.publish([{ kind: "audio", payloadBytes: 20 }]);
        await c.connected(30_000);
      }),
    );
    const failures = results.filter((r) => r.status === "rejected");
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);

    const hostTracks = host.outgoing.map((t) => t.trackId);
    await eventually(
      `all ${JOINERS} joiners receive the host's audio and video`,
      () => joiners.every((c) => hostTracks.every((id) => (c.received.get(id)?.packets ?? 0) > 5)),
      30_000,
    );
    await pacer.stop();

    const firstMedia = joiners.map((c) => Math.min(...hostTracks.map((id) => c.received.get(id)!.firstPacketAt!)) - c.connectStartedAt).sort((a, b) => a - b);
    console.log(
      `[concurrent-joins] connect -> first media packet over ${JOINERS} clients: median ${firstMedia[Math.floor(JOINERS / 2)]!.toFixed(0)} ms, worst ${firstMedia[JOINERS - 1]!.toFixed(0)} ms`,
    );

    for (const c of joiners) {
      for (const id of hostTracks) {
        const rec = c.received.get(id)!;
        expect(rec.mismatches).toBe(0);
        expect(rec.seqGaps).toBe(0);
      }
      // DTLS roles: every offer says actpass (JSEP, RFC 8829 5.2.2) and every answer active, so exactly
      // one side is the DTLS client, and re-offers keep it (the answerer keeps its role, RFC 8842 5.5).
      expect(new Set(c.setupLines.clientOffer)).toEqual(new Set(["actpass"]));
      expect(new Set(c.setupLines.relayAnswer)).toEqual(new Set(["active"]));
      expect(new Set(c.setupLines.relayOffer)).toEqual(new Set(["actpass"]));
      expect(new Set(c.setupLines.clientAnswer)).toEqual(new Set(["active"]));
    }
    expect(relay.stats().participants).toBe(JOINERS + 1);
  });

  it("with a configured UDP port range, 20 concurrent joins all connect on ports inside it", async () => {
    relay = await startTestRelay({ udpPortRange: [41000, 41100] });
    const log: SentLog = new Map();
    const joiners = Array.from({ length: 20 }, (_, i) => new WeriftClient({ name: `r${i}`, log }));
    clients.push(...joiners);
    const results = await Promise.allSettled(
      joiners.map(async (c) => {
        await c.connect(relay!.signalUrl);
        await c.join("ranged");
        await c.publish([{ kind: "audio" }]);
        await c.connected(30_000);
      }),
    );
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const ports = joiners.flatMap((c) =>
      [c.publisher!.remoteDescription!.sdp, c.lastSubscriberOffer].flatMap((sdp) =>
        [...sdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/gm)].map((m) => Number(m[1])),
      ),
    );
    expect(ports.length).toBeGreaterThanOrEqual(40);
    expect(ports.every((p) => p >= 41000 && p <= 41100)).toBe(true);
    expect(new Set(ports).size).toBe(40); // one port per relay connection, none shared
  });
});

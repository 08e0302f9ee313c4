/**
 * Hostile input on the relay's media ports. The attacker is a plain UDP socket on 127.0.0.1 that learns
 * a participant's relay ports (and ICE ufrag) from the SDP that participant received; it does not know
 * the ICE password or the DTLS keys. Nothing it sends may stop that participant's media or data, get it
 * an answer, or take a connection; and a participant leaving at any point of a negotiation releases
 * its sockets and timers.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningRelay } from "@sfu-room/relay";
import {
  bindingRequest, clientHello, dtlsRecord, iceUfrag, candidatePorts, plaintextAlert, prng, relayPortsOf, StrangerSocket,
} from "../support/hostile-datagrams.ts";
import { Call, expectDataArrives, expectMediaFlowing } from "../support/call.ts";
import { sendProtectedAlert } from "../support/dtls-alert.ts";
import { eventually, resourceCounts, resumeWindow, sleep, startTestRelay } from "../support/relay-harness.ts";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";

describe("hostile datagrams on the media ports", () => {
  let relay: RunningRelay | undefined;
  let call: Call | undefined;
  const strangers: StrangerSocket[] = [];
  const log: SentLog = new Map();
  afterEach(async () => {
    await call?.stop();
    call = undefined;
    await Promise.all(strangers.splice(0).map((s) => s.close()));
    await relay?.close();
    relay = undefined;
  });

  it("records, alerts, ClientHellos, noise and unauthenticated STUN from a stranger leave the victim's media and data flowing, unanswered", async () => {
    relay = await startTestRelay();
    call = await Call.open(relay, "victim", log);
    const { alice: victim, bob: other } = call;
    const ports = relayPortsOf(victim);
    const ufrags = [iceUfrag(victim.publisher!.remoteDescription!.sdp), iceUfrag(victim.subscriber!.remoteDescription!.sdp)];
    const stranger = await StrangerSocket.open();
    strangers.push(stranger);
    const random = prng(10);
    const attacks: Array<[string, () => Buffer[]]> = [
      ["a 13-byte record with an unknown content type", () => [dtlsRecord(25, Buffer.alloc(0)), dtlsRecord(63, Buffer.alloc(0))]],
      ["plaintext alerts (fatal handshake_failure, close_notify)", () => [plaintextAlert(2, 40), plaintextAlert(1, 0)]],
      ["a ClientHello", () => [clientHello(random.bytes(32))]],
      ["Binding Requests without USERNAME or MESSAGE-INTEGRITY, or with a wrong one", () =>
        ufrags.flatMap((ufrag) => [
          bindingRequest({}),
          bindingRequest({ username: `${ufrag}:evil`, useCandidate: true }),
          bindingRequest({ username: `${ufrag}:evil`, useCandidate: true, integrityKey: random.bytes(16) }),
          bindingRequest({ username: `nope:evil`, useCandidate: true, integrityKey: random.bytes(16) }),
        ])],
      ["2,000 random datagrams", () => Array.from({ length: 2000 }, () => random.bytes(1 + random.int(1200)))],
    ];
    for (const [what, make] of attacks) {
      for (const datagram of make()) {
        await stranger.send(datagram, ports.publisher);
        await stranger.send(datagram, ports.subscriber);
      }
      await expectMediaFlowing([victim, other], `after ${what}`);
      await expectDataArrives(victim, other, `victim -> other after ${what}`);
      await expectDataArrives(other, victim, `other -> victim after ${what}`);
    }
    expect([victim.publisher!.connectionState, victim.subscriber!.connectionState]).toEqual(["connected", "connected"]);
    expect(relay.stats().participants).toBe(2);
    // No STUN response, no DTLS flight, nothing: the relay is not a reflector.
    expect(stranger.received).toEqual([]);
  });

  it("a Binding Request with USE-CANDIDATE sprayed before the owner's checks does not take the connection", async () => {
    relay = await startTestRelay();
    call = await Call.open(relay, "hijack", log);
    const spoofer = await StrangerSocket.open();
    strangers.push(spoofer);
    const random = prng(20);
    const sprayed: number[] = [];
    const spray = (sdp: string) => {
      const port = candidatePorts(sdp)[0]!;
      sprayed.push(port);
      const username = `${iceUfrag(sdp)}:spoof`;
      // As a sprayer would: nominate itself (with and without a made-up integrity), then start DTLS.
      for (const datagram of [
        bindingRequest({ username, useCandidate: true }),
        bindingRequest({ username, useCandidate: true, integrityKey: random.bytes(16) }),
        clientHello(random.bytes(32)),
      ]) spoofer.send(datagram, port).catch(() => undefined);
    };
    const owner = new WeriftClient({ name: "owner", log });
    await owner.connect(relay.signalUrl);
    // Waiters see each frame synchronously, before the owner has even applied the SDP.
    const spoofedSubscriber = owner.waitFor((m) => m.type === "subscriber-offer" && (spray(m.sdp), true));
    const spoofedPublisher = owner.waitFor((m) => m.type === "publish-answer" && (spray(m.sdp), true));
    await owner.join("hijack");
    await owner.publish([{ kind: "audio" }, { kind: "video" }]);
    await Promise.all([spoofedSubscriber, spoofedPublisher]);
    try {
      await owner.connected();
      await eventually("the owner receives a's and b's tracks", () => owner.received.size === 4);
      await expectMediaFlowing([owner, call.alice, call.bob], "to and from the owner");
      await expectDataArrives(call.alice, owner, "a -> owner");
    } finally {
      await owner.close();
    }
    expect(new Set(sprayed)).toEqual(new Set(Object.values(relayPortsOf(owner))));
    expect(spoofer.received).toEqual([]);
  });
});

describe("a DTLS session the peer really ends", () => {
  it("an authentic fatal alert or close_notify fails that connection, and the relay removes the participant", async () => {
    const relay = await startTestRelay({ peerTimeoutMs: 500 });
    const log: SentLog = new Map();
    const call = await Call.open(relay, "ended", log);
    try {
      const watcher = new WeriftClient({ name: "watcher", log });
      await watcher.connect(relay.signalUrl);
      await watcher.join("ended");
      await watcher.dataReady();
      const left = (c: WeriftClient) => watcher.events.some((e) => e.type === "participant-left" && e.participantId === c.participantId);
      await sendProtectedAlert(call.alice.subscriber, 2, 40); // fatal handshake_failure on a's subscriber connection
      await sendProtectedAlert(call.bob.publisher, 1, 0); // close_notify on b's publisher connection
      await eventually("the others are told a and b left", () => left(call.alice) && left(call.bob), 10_000);
      expect(relay.stats().participants).toBe(1);
      await watcher.close();
    } finally {
      await call.stop();
      await relay.close();
    }
  });
});

describe("leaving at any point of a negotiation", () => {
  // A leaked socket per cycle would use up this range within 20 cycles and lock everyone out.
  const PORTS: [number, number] = [23610, 23629];
  const CYCLES = 300;

  it(`${CYCLES} participants dropping their WebSocket mid-negotiation leave the process's UDP sockets and timers where they were`, async () => {
    // Dropped participants are kept for a short resume window: released at its end.
    const relay = await startTestRelay({ udpPortRange: PORTS, ...resumeWindow(300) });
    const log: SentLog = new Map();
    const call = await Call.open(relay, "churn", log);
    await sleep(200);
    const before = resourceCounts();
    /** Where a cycle drops its WebSocket. */
    const dropPoints = ["after sending join", "on joined", "on subscriber-offer", "after sending publish-offer"] as const;
    for (let i = 0; i < CYCLES; i++) {
      const dropPoint = dropPoints[i % dropPoints.length]!;
      if (dropPoint === "after sending publish-offer") {
        const c = new WeriftClient({ name: `pub-${i}`, log });
        await c.connect(relay.signalUrl);
        await c.join("churn");
        const send = c.ws.send.bind(c.ws);
        const dropped = new Promise<void>((resolve) => {
          c.ws.send = ((data: string, ...rest: never[]) => {
            send(data, ...rest);
            if (data.includes('"publish-offer"')) {
              c.ws.terminate();
              resolve();
            }
          }) as typeof c.ws.send;
        });
        c.publish([{ kind: "audio" }, { kind: "video" }]).catch(() => undefined);
        await dropped;
        await c.close();
        continue;
      }
      const ws = new WebSocket(relay.signalUrl);
      await new Promise((resolve) => ws.once("open", resolve));
      const dropOn = dropPoint === "on joined" ? '"type":"joined"' : '"type":"subscriber-offer"';
      const dropped = new Promise<void>((resolve) => {
        ws.on("message", (data) => {
          if (String(data).includes(dropOn)) ws.terminate();
        });
        ws.once("close", () => resolve());
      });
      ws.send(JSON.stringify({ type: "join", id: "j", room: "churn", name: `drop-${i}`, autoSubscribe: true }));
      if (dropPoint === "after sending join") ws.terminate();
      await dropped;
    }
    await eventually("the relay released every dropped participant", () => relay.stats().participants === 2 && relay.stats().peerConnections === 4, 10_000);
    await eventually("UDP sockets back to what the call had", () => (resourceCounts().UDPWrap ?? 0) === (before.UDPWrap ?? 0), 10_000);
    await eventually("timers back to what the call had", () => (resourceCounts().Timeout ?? 0) <= (before.Timeout ?? 0), 10_000);
    // Nobody is locked out: a newcomer still gets ports from the range, and media.
    const late = new WeriftClient({ name: "late", log });
    await late.connect(relay.signalUrl);
    await late.join("churn");
    await eventually("the newcomer receives the call", () => late.received.size === 4);
    await expectMediaFlowing([late, call.alice], "to the newcomer");
    await late.close();
    await call.stop();
    await relay.close();
  }, 90_000);
});

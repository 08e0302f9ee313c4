/**
 * The relay's subscriber offers follow JSEP (RFC 8829), so a strict WebRTC stack accepts every one of
 * them, not only the first: across joins, leaves (rejected m-sections), slot reuse, simulcast, an ICE
 * restart and peers that only use data. The rules live in test/support/jsep-rules.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { jsepOfferViolations } from "../support/jsep-rules.ts";

const settled = (c: WeriftClient, offers: number) => c.subscriberOffers >= offers && c.subscriber?.signalingState === "stable";

describe("JSEP conformance of the relay's offers", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("every subscriber offer through joins, leaves, slot reuse, simulcast, data-only peers and an ICE restart", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const join = async (name: string, autoSubscribe = true) => {
      const c = await joinClient(relay!, "jsep", name, log, autoSubscribe);
      clients.push(c);
      return c;
    };
    const pacer = new Pacer(() => clients);
    pacer.start();

    const alice = await join("alice");
    await alice.publish([{ kind: "audio" }, { kind: "video" }]);
    const bob = await join("bob"); // publishes nothing
    const dana = await join("dana", false); // subscribes to nothing: data only
    await eventually("bob has alice's tracks", () => settled(bob, 1) && alice.outgoing.every((t) => (bob.received.get(t.trackId)?.packets ?? 0) > 0));

    const carol = await join("carol");
    await carol.publish([{ kind: "audio" }, { kind: "video", codec: "H264" }]);
    await carol.publishSimulcast(["q", "h", "f"]);
    await eventually("bob has carol's tracks", () => carol.outgoing.every((t) => (bob.received.get(t.trackId)?.packets ?? 0) > 0));

    const offersBeforeLeave = bob.subscriberOffers;
    await carol.leave();
    clients = clients.filter((c) => c !== carol);
    await eventually("bob's offer without carol is answered", () => settled(bob, offersBeforeLeave + 1));

    // The freed slots are reused by the next publisher.
    const erin = await join("erin");
    await erin.publish([{ kind: "audio" }, { kind: "video" }]);
    await eventually("bob has erin's tracks", () => erin.outgoing.every((t) => (bob.received.get(t.trackId)?.packets ?? 0) > 0));

    const offersBeforeRestart = bob.subscriberOffers;
    expect((await bob.restartIce()).type).toBe("ice-restarted");
    await eventually("bob's restart offer is answered", () => settled(bob, offersBeforeRestart + 1));
    const packets = bob.received.get(erin.outgoing[1]!.trackId)!.packets;
    await eventually("erin's video flows to bob after the restart", () => bob.received.get(erin.outgoing[1]!.trackId)!.packets > packets + 10);
    // alice's tracks hold bob's first m-lines, the first of them the BUNDLE group's tag.
    const offersBeforeAliceLeaves = bob.subscriberOffers;
    await alice.leave();
    clients = clients.filter((c) => c !== alice);
    await eventually("bob's offer without alice is answered", () => settled(bob, offersBeforeAliceLeaves + 1));
    await pacer.stop();

    expect(bob.subscriberOffers, "bob's offers: first, carol, carol's simulcast, her leave, erin, the restart, alice's leave").toBeGreaterThanOrEqual(6);
    for (const c of [alice, bob, dana, erin]) {
      const offers = c.subscriberOfferLog;
      expect(offers.length, `${c.options.name} got offers`).toBeGreaterThan(0);
      expect(jsepOfferViolations(offers.map((o) => o.sdp), offers.map((o) => o.tracks)), `${c.options.name}'s offers`).toEqual([]);
    }
    // A rejected m-section was among them (carol's tracks), and a reused slot.
    expect(bob.subscriberOfferLog.some((o) => /^m=(audio|video) 0 /m.test(o.sdp))).toBe(true);
  });

  it("the rules catch what a strict client refuses", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const alice = await joinClient(relay, "jsep-rules", "alice", log);
    clients.push(alice);
    await alice.publish([{ kind: "audio" }]);
    const bob = await joinClient(relay, "jsep-rules", "bob", log);
    clients.push(bob);
    await eventually("bob's first offers", () => settled(bob, 1) && bob.lastSubscriberOffer.includes("m=audio"));
    const offer = bob.lastSubscriberOffer;
    expect(jsepOfferViolations([offer])).toEqual([]);

    expect(jsepOfferViolations([offer.replace(/a=setup:actpass/g, "a=setup:passive")]).join("\n")).toMatch(/a=setup:passive/);
    expect(jsepOfferViolations([offer, offer]).join("\n")).toMatch(/session version/);
    const rejected = offer.replace(/^m=audio \d+ /m, "m=audio 0 ").replace(/a=rtcp-mux\r?\n/, "").replace(/a=sendonly/, "a=inactive");
    expect(jsepOfferViolations([rejected]).join("\n")).toMatch(/no a=rtcp-mux in the rejected m-section/);
    expect(jsepOfferViolations([offer.replace(/a=msid:[^\r\n]*\r?\n/, "")]).join("\n")).toMatch(/no a=msid/);
  });
});

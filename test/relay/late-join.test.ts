/**
 * The renegotiation failure of shared/seeds/002: adding a participant must not disturb the media the
 * others already receive. Existing streams keep their SSRC and lose no packet (contiguous sequence
 * numbers) while subscriber connections are renegotiated, through several joins and leaves.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

describe("late join and leave without disruption", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  /** Every client receives every other client's tracks, all intact, and packet counts keep growing. */
  async function expectAllFlowing(members: WeriftClient[]): Promise<void> {
    const before = new Map(members.map((c) => [c, new Map([...c.received].map(([id, r]) => [id, r.packets]))]));
    await eventually(`every member receives every other member's tracks, growing`, () =>
      members.every((c) =>
        members.filter((o) => o !== c).every((o) =>
          o.outgoing.every((t) => {
            const rec = c.received.get(t.trackId);
            return rec !== undefined && rec.packets > (before.get(c)!.get(t.trackId) ?? 0) + 20;
          }),
        ),
      ),
    );
    for (const c of members) {
      for (const o of members.filter((o) => o !== c)) {
        for (const t of o.outgoing) {
          const rec = c.received.get(t.trackId)!;
          const what = `${c.options.name} <- ${o.options.name} ${t.kind}`;
          expect(rec.ssrcs.size, `${what}: one SSRC`).toBe(1);
          expect(rec.seqGaps, `${what}: contiguous sequence numbers`).toBe(0);
          expect(rec.mismatches, `${what}: payloads equal to those sent`).toBe(0);
          if (t.kind === "video") expect(rec.firstWasKeyframe, `${what}: starts at a key frame`).toBe(true);
        }
      }
    }
  }

  it("a 4th participant joins and leaves, repeatedly, while 3 others keep receiving every packet", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const originals: WeriftClient[] = [];
    for (const name of ["alice", "bob", "carol"]) {
      const c = await joinClient(relay, "late", name, log);
      await c.publish([{ kind: "audio" }, { kind: "video" }]);
      originals.push(c);
      clients.push(c);
    }
    const pacer = new Pacer(() => clients);
    pacer.start();
    await expectAllFlowing(originals);

    for (const round of [1, 2, 3]) {
      const late = await joinClient(relay, "late", `late-${round}`, log);
      clients.push(late);
      await late.publish([{ kind: "audio" }, { kind: "video" }]);
      // The newcomer was told about everyone already there, with their tracks.
      expect(late.joined!.participants.map((p) => p.name).sort()).toEqual(["alice", "bob", "carol"]);
      expect(late.joined!.participants.every((p) => p.tracks.length === 2)).toBe(true);
      await expectAllFlowing([...originals, late]);

      await late.leave();
      clients = clients.filter((c) => c !== late);
      await eventually("everyone saw the late participant leave", () =>
        originals.every((c) => c.events.some((e) => e.type === "participant-left" && e.participantId === late.participantId)),
      );
      await expectAllFlowing(originals);
    }
    // Stopped m-lines are reused: the subscriber connection does not grow with every join.
    for (const c of originals) {
      const mLines = c.lastSubscriberOffer.match(/^m=(audio|video)/gm)?.length ?? 0;
      expect(mLines, `${c.options.name}'s subscriber offer m-lines`).toBeLessThanOrEqual(6);
    }

    // Finally one of the originals leaves: the other two are unaffected.
    const [leaver, ...rest] = originals;
    await leaver!.leave();
    clients = clients.filter((c) => c !== leaver);
    await eventually("the rest saw alice leave", () =>
      rest.every((c) => c.events.some((e) => e.type === "participant-left" && e.participantId === leaver!.participantId)),
    );
    await expectAllFlowing(rest);
    await pacer.stop();
    expect(relay.stats().participants).toBe(2);
  });
});

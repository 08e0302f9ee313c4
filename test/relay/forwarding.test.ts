import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "../support/werift-client.ts";

describe("forwarding between real werift peers", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("3 participants publishing Opus + VP8 each receive the other two, byte for byte, with no loss", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    for (const name of ["alice", "bob", "carol"]) {
      const c = await joinClient(relay, "fwd", name, log);
      await c.publish([{ kind: "audio" }, { kind: "video" }]);
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.connected()));
    const pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("every client receives 4 remote tracks", () =>
      clients.every((c) => c.received.size === 4 && [...c.received.values()].every((r) => r.packets > 50)),
    );
    await pacer.stop();
    for (const c of clients) {
      const others = clients.filter((o) => o !== c);
      for (const o of others) {
        for (const t of o.outgoing) {
          const rec = c.received.get(t.trackId);
          expect(rec, `${c.options.name} receives ${o.options.name}'s ${t.kind}`).toBeDefined();
          expect(rec!.mismatches).toBe(0);
          expect(rec!.seqGaps).toBe(0);
          expect(rec!.ssrcs.size).toBe(1);
        }
      }
      // Never its own tracks.
      for (const t of c.outgoing) expect(c.received.has(t.trackId)).toBe(false);
    }
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

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

  it("H264 and VP8 publishers in one room: each subscriber m-line carries its publisher's codec", async () => {
    relay = await startTestRelay();
    const log: SentLog = new Map();
    const h264 = await joinClient(relay, "mixed", "h264", log);
    await h264.publish([{ kind: "audio" }, { kind: "video", codec: "H264" }]);
    const vp8 = await joinClient(relay, "mixed", "vp8", log);
    await vp8.publish([{ kind: "audio" }, { kind: "video", codec: "VP8" }]);
    const viewer = await joinClient(relay, "mixed", "viewer", log);
    clients.push(h264, vp8, viewer);
    const pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("the viewer receives 4 tracks", () =>
      viewer.received.size === 4 && [...viewer.received.values()].every((r) => r.packets > 30),
    );
    await eventually("h264 and vp8 receive each other", () => h264.received.size === 2 && vp8.received.size === 2);
    await pacer.stop();
    const h264Video = h264.outgoing.find((t) => t.kind === "video")!;
    for (const c of [viewer, vp8]) {
      const rec = c.received.get(h264Video.trackId)!;
      expect(rec.mismatches).toBe(0);
      expect(rec.seqGaps).toBe(0);
      expect(rec.firstWasKeyframe).toBe(true); // an IDR slice, detected by the relay's H264 parser
    }
    // The viewer's subscriber offer names H264 on exactly one video m-line and VP8 on the other, each
    // with only its RTX besides (docs/quality.md, "Loss recovery").
    const sdp = viewer.lastSubscriberOffer;
    const videoSections = sdp.split(/^m=/m).filter((sec) => sec.startsWith("video"));
    const codecsOf = (sec: string) => [...sec.matchAll(/^a=rtpmap:(\d+) ([\w-]+)\/90000/gm)].map((m) => ({ pt: m[1], name: m[2] }));
    expect(videoSections.map((sec) => codecsOf(sec).find((c) => c.name !== "rtx")?.name).sort()).toEqual(["H264", "VP8"]);
    for (const sec of videoSections) {
      const [media, rtx, ...more] = codecsOf(sec);
      expect([rtx?.name, more]).toEqual(["rtx", []]);
      expect(sec).toContain(`a=fmtp:${rtx!.pt} apt=${media!.pt}`);
    }
  });
});

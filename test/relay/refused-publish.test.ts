/**
 * A refused publish changes nothing: an offer refused for one m-line's codec binds none of its other
 * m-lines, so they can be published by the next offer, and nobody else hears of the refused one.
 */
import { describe, expect, it } from "vitest";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import type { SentLog } from "@sfu-room/test-peer";

describe("refused publish", () => {
  it("an offer refused for one m-line leaves the others publishable, and tells nobody", async () => {
    const relay = await startTestRelay();
    const log: SentLog = new Map();
    const watcher = await joinClient(relay, "r", "watcher", log);
    const publisher = await joinClient(relay, "r", "publisher", log);
    // A real two-track offer (Opus + VP8), made by a client in another room.
    const donor = await joinClient(relay, "elsewhere", "donor", log);
    const [mic, cam] = await donor.publish([{ kind: "audio" }, { kind: "video" }]);
    const offer = donor.publisher!.localDescription!.sdp;
    const tracks = [
      { mid: mic!.mid, kind: "audio" as const },
      { mid: cam!.mid, kind: "video" as const },
    ];

    // The video m-line offers only a codec the relay does not forward: refused, nothing bound.
    const vp9Only = offer.replace(/VP8\/90000/g, "VP9/90000");
    const refused = await publisher.request({ type: "publish-offer", id: "p1", sdp: vp9Only, tracks });
    expect(refused).toMatchObject({ type: "error", id: "p1", code: "bad-sdp" });
    expect(refused.type === "error" && refused.message).toMatch(/offers no codec the relay forwards/);

    // The audio m-line of the same offer publishes fine afterwards.
    const answer = await publisher.request({ type: "publish-offer", id: "p2", sdp: offer, tracks: [tracks[0]!] });
    expect(answer).toMatchObject({ type: "publish-answer", id: "p2", tracks: [{ mid: mic!.mid }] });
    await eventually("the watcher sees the one track", () => watcher.events.some((e) => e.type === "track-published" && e.track.participantId === publisher.participantId));
    const announced = watcher.events.filter((e) => e.type === "track-published" && e.track.participantId === publisher.participantId);
    expect(announced.map((e) => e.type === "track-published" && e.track.kind)).toEqual(["audio"]);
    expect(relay.stats().tracks).toBe(3); // donor 2 + publisher 1

    await Promise.all([watcher.close(), publisher.close(), donor.close()]);
    await relay.close();
  });
});

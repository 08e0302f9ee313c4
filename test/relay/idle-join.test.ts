/**
 * A join whose media connection never comes up (a script that joins and never answers the subscriber
 * offer) is let go after the peer timeout: its place in the room is freed and its socket closed with a
 * reason, while a participant that did connect stays.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEFAULT_RELAY_CONFIG } from "@sfu-room/relay";
import { eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";

describe("idle joins", () => {
  it("a join that never connects media is removed after the peer timeout and frees its place", async () => {
    const relay = await startTestRelay({ peerTimeoutMs: 1000, core: { ...DEFAULT_RELAY_CONFIG.core, maxParticipantsPerRoom: 2 } });
    const log: SentLog = new Map();
    const stays = await joinClient(relay, "small", "stays", log);
    await stays.connected();

    const idle = new WebSocket(relay.signalUrl);
    await new Promise((resolve, reject) => idle.once("open", resolve).once("error", reject));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => idle.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    const joined = new Promise<string>((resolve) => idle.on("message", (d) => resolve(d.toString())));
    idle.send(JSON.stringify({ type: "join", id: "j", room: "small", name: "idle" }));
    expect(JSON.parse(await joined)).toMatchObject({ type: "joined" });
    expect(relay.stats().participants).toBe(2);

    // The room is full while the idle join holds its place...
    const blocked = new WeriftClient({ name: "blocked", log });
    await blocked.connect(relay.signalUrl);
    expect(await blocked.request({ type: "join", id: "b", room: "small", name: "blocked" })).toMatchObject({ type: "error", code: "room-full" });

    // ...until the peer timeout lets it go, with a reason.
    const { reason } = await closed;
    expect(reason).toMatch(/media connection never came up/);
    await eventually("the idle join is gone", () => relay.stats().participants === 1);
    const late = await joinClient(relay, "small", "late", log);
    expect(late.joined?.participants.map((p) => p.name)).toEqual(["stays"]);
    await late.connected();

    // The participants that connected are still there after the timeout.
    await sleep(1500);
    expect(relay.stats().participants).toBe(2);
    await Promise.all([stays.close(), blocked.close(), late.close()]);
    await relay.close();
  });
});

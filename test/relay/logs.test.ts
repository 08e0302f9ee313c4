/**
 * The relay's log lines (pino, JSON): one per join, leave, publish, unpublish, error reply and peer
 * connection state change, each with the participant's id (and room) as fields. Captured through a
 * pino destination stream, as a log shipper would read stdout. The relay runs its default workers (one
 * per core): their lines reach the logger given to startRelay, as one process's do.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, type RunningRelay, startRelay } from "@sfu-room/relay";
import type { WeriftClient } from "@sfu-room/test-peer";
import { eventually, joinClient } from "../support/relay-harness.ts";

interface LogLine {
  level: number;
  msg: string;
  participantId?: string;
  room?: string;
  [field: string]: unknown;
}

/** A pino destination that keeps every line, parsed. */
function captureLines(): { lines: LogLine[]; stream: Writable } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, stream };
}

describe("logs", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("a line for each join, publish, error reply, connection state, unpublish and leave, with participant and room", async () => {
    const { lines, stream } = captureLines();
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0 }, pino({ level: "info" }, stream));
    const alice = await joinClient(relay, "logged", "alice", new Map());
    const bob = await joinClient(relay, "logged", "bob", new Map());
    clients.push(alice, bob);
    const [track] = await alice.publish([{ kind: "audio" }]);
    await alice.connected();
    const about = (id: string, msg: string) => lines.filter((l) => l.participantId === id && l.msg === msg);
    // A worker's line reaches this logger over IPC after the reply it logs (the core's order: the reply,
    // then what the shell does and logs), so each line is awaited before its fields are checked.
    const logged = (id: string, msg: string) => eventually(`"${msg}" logged for ${id}`, () => about(id, msg).length > 0);

    for (const c of [alice, bob]) await logged(c.participantId, "participant joined");
    await logged(alice.participantId, "tracks published");
    for (const c of [alice, bob]) expect(about(c.participantId, "participant joined")).toEqual([expect.objectContaining({ level: 30, room: "logged" })]);
    expect(about(alice.participantId, "tracks published")).toEqual([expect.objectContaining({ room: "logged", trackIds: [track!.trackId] })]);
    await eventually("alice's connections logged as connected", () =>
      ["publisher", "subscriber"].every((connection) => about(alice.participantId, "peer connection state changed").some((l) => l.connection === connection && l.state === "connected")));

    expect(await bob.request({ type: "unpublish", id: "u1", trackId: "Tnot-there" })).toMatchObject({ type: "error", code: "unknown-track" });
    await logged(bob.participantId, "error reply");
    expect(about(bob.participantId, "error reply")).toEqual([expect.objectContaining({ level: 30, requestId: "u1", code: "unknown-track" })]);

    expect(await alice.request({ type: "unpublish", id: "u2", trackId: track!.trackId })).toMatchObject({ type: "ok" });
    await logged(alice.participantId, "track unpublished");
    expect(about(alice.participantId, "track unpublished")).toEqual([expect.objectContaining({ room: "logged", trackId: track!.trackId })]);
    await alice.leave();
    await logged(alice.participantId, "participant left");
    expect(about(alice.participantId, "participant left")).toEqual([expect.objectContaining({ room: "logged", reason: "left" })]);
    expect(about(bob.participantId, "participant left")).toEqual([]);
  });
});

/**
 * A load-generator process (forked by the harness, never the server's process): holds benchmark
 * participants and answers the harness's requests over the IPC channel. See WorkerRequest for the
 * operations. Each request gets exactly one reply { id, ok, result | error }.
 */
import { RTCPeerConnection } from "werift";
import { attachReceiver, FixtureSource, mediaPeerConfig, Pacer, ReceiveCounter } from "./media.ts";
import { createMeetingParticipant, createPublisher, createSubscriber, type FeedId, type Participant, type Target } from "./peers.ts";
import { Samples } from "./stats.ts";

export type WorkerRequest =
  | { op: "publishers"; target: Target; room: string; count: number; name: string; probe: boolean; timeoutMs: number }
  | { op: "subscribers"; target: Target; room: string; count: number; name: string; feeds: FeedId[]; concurrency: number; timeoutMs: number }
  | { op: "storm"; target: Target; room: string; count: number; name: string; feeds: FeedId[]; timeoutMs: number }
  | { op: "meeting-publish"; target: Target; room: string; count: number; name: string; concurrency: number; timeoutMs: number }
  | { op: "meeting-receive"; feeds: FeedId[]; concurrency: number }
  | { op: "pause" }
  | { op: "resume" }
  | { op: "snapshot" }
  | { op: "window-start" }
  | { op: "close-all" }
  | { op: "baseline"; ms: number };

export interface Snapshot {
  sent: { audio: number; video: number };
  recv: { audio: number; video: number; other: number; duplicates: number };
  receivers: number;
  latency: ReturnType<Samples["summary"]> | undefined;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  errors: string[];
  /** ms from WebSocket connect to first media packet (any kind / video) per successful participant. */
  firstMediaMs: number[];
  firstVideoMs: number[];
}

const pacer = new Pacer();
const participants: Participant[] = [];
const probes: ReceiveCounter[] = [];
const meeting: Array<Participant & { receiveAll(feeds: FeedId[], mode: "count" | "full"): Promise<void> }> = [];
let seq = 0;

const log = (...a: unknown[]) => console.error(`[worker ${process.pid}]`, ...a);
process.on("unhandledRejection", (e) => log("unhandled rejection:", e instanceof Error ? e.message : e));
process.on("uncaughtException", (e) => log("uncaught exception:", e.message));

/** Runs `count` tasks with at most `concurrency` at once; collects errors. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ ok: number; errors: string[] }> {
  let next = 0;
  let ok = 0;
  const errors: string[] = [];
  const run = async () => {
    while (next < count) {
      const i = next++;
      try {
        await task(i);
        ok++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, run));
  return { ok, errors };
}

function connectResult(ok: number, errors: string[], timed: Participant[]): ConnectResult {
  const firstMediaMs: number[] = [];
  const firstVideoMs: number[] = [];
  for (const p of timed) {
    const c = p.counter;
    if (c?.firstAt !== undefined) firstMediaMs.push(c.firstAt - p.connectStartedAt);
    if (c?.firstVideoAt !== undefined) firstVideoMs.push(c.firstVideoAt - p.connectStartedAt);
  }
  return { ok, failed: errors.length, errors: [...new Set(errors)].slice(0, 5), firstMediaMs, firstVideoMs };
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case "publishers": {
      const feeds: FeedId[] = [];
      for (let i = 0; i < req.count; i++) {
        const p = await createPublisher({ target: req.target, room: req.room, name: `${req.name}-${seq++}`, pacer, timeoutMs: req.timeoutMs });
        participants.push(p);
        feeds.push(p.feedId!);
      }
      if (req.probe) {
        // The latency probe: decrypts everything, in the publisher's process (one clock).
        const { participant, ready } = await createSubscriber({
          target: req.target, room: req.room, name: `${req.name}-probe`, feeds: feeds.slice(0, 1), mode: "full", timeoutMs: req.timeoutMs,
        });
        participants.push(participant);
        await ready;
        probes.push(participant.counter!);
      }
      return { feeds };
    }
    case "subscribers": {
      const created: Participant[] = [];
      const r = await pool(req.count, req.concurrency, async () => {
        const { participant, ready } = await createSubscriber({
          target: req.target, room: req.room, name: `${req.name}-${seq++}`, feeds: req.feeds, mode: "count", timeoutMs: req.timeoutMs,
        });
        participants.push(participant);
        created.push(participant);
        await ready;
      });
      return connectResult(r.ok, r.errors, created);
    }
    case "storm": {
      // Everyone at once: no pool.
      const created: Participant[] = [];
      const r = await pool(req.count, req.count, async () => {
        const { participant, ready } = await createSubscriber({
          target: req.target, room: req.room, name: `${req.name}-${seq++}`, feeds: req.feeds, mode: "count", timeoutMs: req.timeoutMs,
        });
        participants.push(participant);
        created.push(participant);
        await ready;
      });
      return connectResult(r.ok, r.errors, created);
    }
    case "meeting-publish": {
      const feeds: FeedId[] = [];
      const r = await pool(req.count, req.concurrency, async () => {
        const p = await createMeetingParticipant({ target: req.target, room: req.room, name: `${req.name}-${seq++}`, pacer, timeoutMs: req.timeoutMs });
        participants.push(p);
        meeting.push(p);
        feeds.push(p.feedId!);
      });
      return { feeds, ok: r.ok, failed: r.errors.length, errors: [...new Set(r.errors)].slice(0, 5) };
    }
    case "meeting-receive": {
      const list = [...meeting];
      const r = await pool(list.length, req.concurrency, async (i) => {
        const p = list[i]!;
        await p.receiveAll(req.feeds.filter((f) => f !== p.feedId), "count");
      });
      return connectResult(r.ok, r.errors, []);
    }
    case "pause":
      pacer.pause();
      return {};
    case "resume":
      pacer.resume();
      return {};
    case "snapshot": {
      const recv = { audio: 0, video: 0, other: 0, duplicates: 0 };
      let receivers = 0;
      for (const p of participants) {
        const c = p.counter;
        if (!c) continue;
        receivers++;
        recv.audio += c.audio;
        recv.video += c.video;
        recv.other += c.other;
        recv.duplicates += c.duplicates;
      }
      const latency = probes.length ? probes[0]!.latency.summary() : undefined;
      return { sent: pacer.sent(), recv, receivers, latency } satisfies Snapshot;
    }
    case "window-start":
      for (const p of participants) p.counter?.newWindow();
      return {};
    case "close-all": {
      const all = participants.splice(0);
      probes.splice(0);
      meeting.splice(0);
      await Promise.all(all.map((p) => p.close().catch(() => undefined)));
      return {};
    }
    case "baseline":
      return baseline(req.ms);
  }
}

/** One-way delay through werift alone: a sender and a receiver connection in this process, no server. */
async function baseline(ms: number): Promise<ReturnType<Samples["summary"]>> {
  const a = new RTCPeerConnection(mediaPeerConfig());
  const b = new RTCPeerConnection(mediaPeerConfig());
  const counter = new ReceiveCounter(() => b);
  attachReceiver(b, counter, "full");
  const source = new FixtureSource();
  for (const t of source.tracks) a.addTransceiver(t.track, { direction: "sendonly" });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  const deadline = performance.now() + 10_000;
  while (a.connectionState !== "connected" || b.connectionState !== "connected") {
    if (performance.now() > deadline) throw new Error("baseline pair did not connect");
    await new Promise((r) => setTimeout(r, 20));
  }
  const local = new Pacer();
  for (const t of source.tracks) local.add(t);
  await new Promise((r) => setTimeout(r, 500));
  counter.latency.reset();
  await new Promise((r) => setTimeout(r, ms));
  const summary = counter.latency.summary();
  for (const t of source.tracks) local.remove(t);
  await Promise.all([a.close(), b.close()]);
  return summary;
}

process.on("message", (m: { id: number; req: WorkerRequest }) => {
  handle(m.req).then(
    (result) => process.send!({ id: m.id, ok: true, result }),
    (e: Error) => process.send!({ id: m.id, ok: false, error: e.message }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send!({ ready: true });
void Samples;

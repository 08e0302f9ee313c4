/**
 * A seeded simulation of many rooms: random joins, leaves, publishes, unpublishes, mutes, manual
 * subscriptions and layer preferences, with every participant sending audio and (often simulcast) video.
 *
 * The test keeps its own model (who is where, who should receive what, which layer each subscription
 * should forward) and checks every output of the core against it: every packet reaches exactly the
 * subscriptions it should, in order, and each subscription's output seqs are contiguous (the input has
 * no loss) with timestamps moving forward, across layer switches and wrap-arounds.
 */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { Input, Output } from "../../src/core/index.ts";
import { Prng, audio, newCore, video } from "./harness.ts";

const ROOMS = 10;
const PER_ROOM = 6;
const SLOTS = ROOMS * 8; // more candidates than places: some joins get room-full
const TICK_MS = 20;
const INTERVAL = 500;

interface SimTrack {
  id: string;
  publisher: string;
  kind: "audio" | "video";
  layers: number;
  seq: number[];
  ts: number[];
  keyNext: boolean[];
}

interface SimParticipant {
  id: string;
  room: string;
  auto: boolean;
  tracks: SimTrack[];
  /** Tracks subscribed by hand (participants without autoSubscribe). */
  manual: Set<string>;
}

interface ModelSub {
  id: number;
  subscriber: string;
  track: SimTrack;
  ready: boolean;
  current: number;
  target: number;
  lastSeq: number;
  lastTs: number;
  forwarded: number;
}

class Simulation {
  readonly core: SfuCore = newCore({ maxParticipantsPerRoom: PER_ROOM, maxTracksPerParticipant: 4, keyframeRequestIntervalMs: INTERVAL });
  readonly rng: Prng;
  now = 0;
  nextTimeout = Infinity;
  readonly members = new Map<string, SimParticipant>();
  readonly tracks = new Map<string, SimTrack>();
  readonly subs = new Map<number, ModelSub>();
  readonly subsByTrack = new Map<string, ModelSub[]>();
  readonly readyNextTick: number[] = [];
  trackCounter = 0;
  counts = { packets: 0, forwards: 0, keyframeRequests: 0, roomFull: 0, joins: 0, leaves: 0, switches: 0, wraps: 0 };
  /** Violations, collected (an expect per packet would be slow). */
  readonly errors: string[] = [];

  constructor(seed: number) {
    this.rng = new Prng(seed);
  }

  fail(msg: string): void {
    if (this.errors.length < 20) this.errors.push(`t=${this.now}: ${msg}`);
  }

  /** handle + poll until timeout, checking every output. Returns the non-forward outputs. */
  drive(input: Input, expectedForwards?: ModelSub[]): Output[] {
    this.core.handle(input);
    const others: Output[] = [];
    const forwards: { sub: number; subscriber: string; seq: number; ts: number }[] = [];
    for (;;) {
      const out = this.core.poll();
      if (out.type === "timeout") {
        this.nextTimeout = out.at;
        break;
      }
      if (out.type === "forward") {
        forwards.push({ sub: out.subscriptionId, subscriber: out.subscriberId, seq: out.seq, ts: out.timestamp });
        continue;
      }
      others.push(out);
      this.apply(out);
    }
    if (expectedForwards === undefined) {
      if (forwards.length > 0) this.fail(`forwards on a ${input.type} input`);
      return others;
    }
    if (forwards.length !== expectedForwards.length || forwards.some((f, i) => f.sub !== expectedForwards[i]!.id)) {
      this.fail(`packet ${JSON.stringify(input)} went to [${forwards.map((f) => f.sub)}], expected [${expectedForwards.map((s) => s.id)}]`);
      return others;
    }
    const rtpInput = input as Extract<Input, { type: "rtp" }>;
    for (let i = 0; i < forwards.length; i++) {
      const f = forwards[i]!;
      const m = expectedForwards[i]!;
      if (f.subscriber !== m.subscriber) this.fail(`sub ${m.id}: subscriber ${f.subscriber}, expected ${m.subscriber}`);
      if (m.lastSeq < 0) {
        // Nothing forwarded before: the first packet keeps its seq and timestamp.
        if (f.seq !== rtpInput.seq || f.ts !== rtpInput.timestamp) this.fail(`sub ${m.id}: first packet rewritten`);
      } else {
        if (f.seq !== ((m.lastSeq + 1) & 0xffff)) this.fail(`sub ${m.id}: seq ${f.seq} after ${m.lastSeq}`);
        const dt = (f.ts - m.lastTs) >>> 0;
        if (dt > 10 * 90000) this.fail(`sub ${m.id}: timestamp ${f.ts} after ${m.lastTs}`);
        if (f.seq < m.lastSeq) this.counts.wraps++;
      }
      m.lastSeq = f.seq;
      m.lastTs = f.ts;
      m.forwarded++;
      this.counts.forwards++;
    }
    return others;
  }

  /** Keeps the model in step with one (non-forward) output, checking it makes sense. */
  apply(out: Output): void {
    switch (out.type) {
      case "subscription-added": {
        const subscriber = this.members.get(out.subscriberId);
        const track = this.tracks.get(out.trackId);
        if (!subscriber || !track || track.publisher !== out.publisherId || this.members.get(track.publisher)?.room !== subscriber.room) {
          this.fail(`bad subscription-added ${JSON.stringify(out)}`);
          return;
        }
        if (out.kind !== track.kind || this.subs.has(out.subscriptionId)) this.fail(`bad subscription-added ${JSON.stringify(out)}`);
        const sub: ModelSub = {
          id: out.subscriptionId,
          subscriber: subscriber.id,
          track,
          ready: false,
          current: -1,
          target: track.layers - 1,
          lastSeq: -1,
          lastTs: 0,
          forwarded: 0,
        };
        this.subs.set(sub.id, sub);
        this.subsByTrack.get(track.id)!.push(sub);
        this.readyNextTick.push(sub.id);
        return;
      }
      case "subscription-removed": {
        const sub = this.subs.get(out.subscriptionId);
        if (!sub || sub.subscriber !== out.subscriberId) {
          this.fail(`bad subscription-removed ${JSON.stringify(out)}`);
          return;
        }
        this.dropSub(sub);
        return;
      }
      case "participant-removed": {
        for (const sub of [...this.subs.values()]) {
          if (sub.subscriber === out.participantId) this.dropSub(sub);
          else if (sub.track.publisher === out.participantId) this.fail(`sub ${sub.id} of a removed publisher remains`);
        }
        return;
      }
      case "request-keyframe": {
        const track = this.tracks.get(out.trackId);
        if (!track || track.publisher !== out.publisherId || out.layer >= track.layers || track.kind !== "video") {
          this.fail(`bad request-keyframe ${JSON.stringify(out)}`);
          return;
        }
        track.keyNext[out.layer] = true;
        this.counts.keyframeRequests++;
        return;
      }
      case "signal": {
        const m = out.message;
        const recipient = this.members.get(out.participantId);
        const subject =
          m.type === "participant-joined"
            ? m.participant.id
            : m.type === "participant-left" || m.type === "track-unpublished" || m.type === "track-muted"
              ? m.participantId
              : m.type === "track-published"
                ? m.track.participantId
                : undefined;
        if (subject !== undefined) {
          if (!recipient || subject === recipient.id) this.fail(`event to the wrong participant ${JSON.stringify(out)}`);
          // participant-left / track-unpublished of a leaver: the subject is being removed, but was in the room.
          const subjectRoom = this.members.get(subject)?.room ?? this.leaving?.room;
          if (recipient && subjectRoom !== recipient.room) this.fail(`event across rooms ${JSON.stringify(out)}`);
        }
        if (m.type === "error" && m.code !== "room-full") this.fail(`unexpected error ${JSON.stringify(out)}`);
        return;
      }
      case "forward":
      case "timeout":
        return;
    }
  }

  leaving: SimParticipant | undefined;

  dropSub(sub: ModelSub): void {
    this.subs.delete(sub.id);
    const list = this.subsByTrack.get(sub.track.id)!;
    list.splice(list.indexOf(sub), 1);
    const i = this.readyNextTick.indexOf(sub.id);
    if (i >= 0) this.readyNextTick.splice(i, 1);
  }

  // --- actions -----------------------------------------------------------------------------

  newTrack(publisher: string, kind: "audio" | "video", layers: number): SimTrack {
    const id = `t${++this.trackCounter}`;
    // Start near the wrap points often, so seq and timestamp wrap during the run.
    const nearWrap = this.rng.chance(0.5);
    const track: SimTrack = {
      id,
      publisher,
      kind,
      layers,
      seq: Array.from({ length: layers }, () => (nearWrap ? 65_400 + this.rng.int(100) : this.rng.int(65_536))),
      ts: Array.from({ length: layers }, () => (nearWrap ? 2 ** 32 - 1 - this.rng.int(200_000) : this.rng.int(2 ** 32))),
      keyNext: Array.from({ length: layers }, () => false),
    };
    return track;
  }

  publish(p: SimParticipant, tracks: SimTrack[]): void {
    for (const t of tracks) {
      this.tracks.set(t.id, t);
      this.subsByTrack.set(t.id, []);
      p.tracks.push(t);
    }
    const specs = tracks.map((t) => (t.kind === "audio" ? audio(t.id) : video(t.id, t.layers === 3 ? ["q", "h", "f"] : [])));
    const offered = this.drive({
      type: "publish-offer",
      now: this.now,
      participantId: p.id,
      requestId: "pub",
      sdp: "offer",
      tracks: specs.map(({ trackId, mid, kind, source, layers, muted }) => ({ trackId, mid, kind, source, layers, muted })),
    });
    if (!offered.some((o) => o.type === "negotiate-publish")) this.fail(`publish refused: ${JSON.stringify(offered)}`);
    const out = this.drive({
      type: "publish-negotiated",
      now: this.now,
      participantId: p.id,
      requestId: "pub",
      sdp: "answer",
      tracks: specs.map(({ trackId, codec, clockRate }) => ({ trackId, codec, clockRate })),
    });
    const announced = out.filter((o) => o.type === "signal" && o.message.type === "track-published").length;
    const others = [...this.members.values()].filter((m) => m.room === p.room && m !== p).length;
    if (announced !== others * tracks.length) this.fail(`publish announced ${announced} times, expected ${others * tracks.length}`);
  }

  unpublish(p: SimParticipant, track: SimTrack): void {
    this.drive({ type: "unpublish", now: this.now, participantId: p.id, requestId: "unpub", trackId: track.id });
    p.tracks.splice(p.tracks.indexOf(track), 1);
    this.tracks.delete(track.id);
    if (this.subsByTrack.get(track.id)!.length > 0) this.fail(`subscriptions of ${track.id} remain after unpublish`);
    this.subsByTrack.delete(track.id);
    for (const m of this.members.values()) m.manual.delete(track.id);
  }

  join(slot: number): void {
    const id = `p${slot}`;
    const room = `room-${slot % ROOMS}`;
    const auto = this.rng.chance(0.7);
    const inRoom = [...this.members.values()].filter((m) => m.room === room).length;
    const p: SimParticipant = { id, room, auto, tracks: [], manual: new Set() };
    if (inRoom < PER_ROOM) this.members.set(id, p); // before driving: subscription-added refers to it
    const out = this.drive({ type: "join", now: this.now, participantId: id, requestId: "join", room, name: id, autoSubscribe: auto });
    const first = out[0];
    const reply = first?.type === "signal" && first.participantId === id ? first.message : undefined;
    if (inRoom >= PER_ROOM) {
      if (reply?.type !== "error" || reply.code !== "room-full" || out.length !== 1) this.fail(`expected room-full, got ${JSON.stringify(out)}`);
      this.counts.roomFull++;
      return;
    }
    if (reply?.type !== "joined" || reply.participants.length !== inRoom) this.fail(`bad join reply ${JSON.stringify(reply)}`);
    this.counts.joins++;
    const simulcast = this.rng.chance(0.6);
    this.publish(p, [this.newTrack(id, "audio", 1), this.newTrack(id, "video", simulcast ? 3 : 1)]);
  }

  leave(p: SimParticipant): void {
    this.leaving = p;
    const out = this.drive({ type: "leave", now: this.now, participantId: p.id });
    this.leaving = undefined;
    if (out.at(-1)?.type !== "participant-removed") this.fail(`leave did not end with participant-removed`);
    this.members.delete(p.id);
    for (const t of p.tracks) {
      this.tracks.delete(t.id);
      if (this.subsByTrack.get(t.id)!.length > 0) this.fail(`subscriptions of ${t.id} remain after leave`);
      this.subsByTrack.delete(t.id);
      for (const m of this.members.values()) m.manual.delete(t.id);
    }
    this.counts.leaves++;
  }

  randomEvent(): void {
    const slot = this.rng.int(SLOTS);
    const p = this.members.get(`p${slot}`);
    if (!p) return this.join(slot);
    const r = this.rng.next();
    if (r < 0.15) return this.leave(p);
    if (r < 0.25) {
      const cam = p.tracks.find((t) => t.kind === "video");
      if (cam) return this.unpublish(p, cam);
      return this.publish(p, [this.newTrack(p.id, "video", this.rng.chance(0.6) ? 3 : 1)]);
    }
    if (r < 0.35 && p.tracks.length > 0) {
      const t = this.rng.pick(p.tracks);
      const out = this.drive({ type: "mute", now: this.now, participantId: p.id, requestId: "mute", trackId: t.id, muted: this.rng.chance(0.5) });
      if (out.at(-1)?.type !== "signal") this.fail("mute without ok");
      return;
    }
    if (r < 0.6 && !p.auto) {
      const candidates = [...this.tracks.values()].filter((t) => t.publisher !== p.id && this.members.get(t.publisher)?.room === p.room);
      if (candidates.length === 0) return;
      const t = this.rng.pick(candidates);
      const subscribe = !p.manual.has(t.id);
      this.drive({ type: "subscribe", now: this.now, participantId: p.id, requestId: "sub", trackId: t.id, subscribe });
      if (subscribe) p.manual.add(t.id);
      else p.manual.delete(t.id);
      return;
    }
    // Layer preference on one of the subscriptions of this participant.
    const mine = [...this.subs.values()].filter((s) => s.subscriber === p.id && s.track.layers === 3);
    if (mine.length === 0) return;
    const sub = this.rng.pick(mine);
    const maxLayer = this.rng.int(3);
    this.drive({ type: "layer-preference", now: this.now, subscriptionId: sub.id, maxLayer });
    sub.target = maxLayer;
  }

  /** Every track sends one tick of media: audio one packet, video 1-3 packets per layer. */
  sendMedia(): void {
    for (const track of [...this.tracks.values()]) {
      for (let layer = 0; layer < track.layers; layer++) {
        const packets = track.kind === "audio" ? 1 : 1 + this.rng.int(3);
        const keyframe = track.keyNext[layer]!;
        track.keyNext[layer] = false;
        for (let k = 0; k < packets; k++) {
          const input: Input = {
            type: "rtp",
            now: this.now,
            publisherId: track.publisher,
            trackId: track.id,
            layer,
            seq: track.seq[layer]!,
            timestamp: track.ts[layer]!,
            marker: k === packets - 1,
            keyframe: keyframe && k === 0,
            size: 1000,
            pictureId: -1,
            tl0PicIdx: -1,
          };
          track.seq[layer] = (track.seq[layer]! + 1) & 0xffff;
          this.drive(input, this.expectedRecipients(track, layer, input.keyframe));
          this.counts.packets++;
        }
        track.ts[layer] = (track.ts[layer]! + (track.kind === "audio" ? 960 : 1800)) >>> 0;
      }
    }
  }

  /** The reference rule: ready, and this packet is of the current layer or a switch onto the target. */
  expectedRecipients(track: SimTrack, layer: number, keyframe: boolean): ModelSub[] {
    const out: ModelSub[] = [];
    for (const sub of this.subsByTrack.get(track.id)!) {
      if (!sub.ready) continue;
      if (layer !== sub.current) {
        if (layer !== sub.target || (track.kind === "video" && !keyframe)) continue;
        if (sub.current >= 0) this.counts.switches++;
        sub.current = layer;
      }
      out.push(sub);
    }
    return out;
  }

  /** Who should be subscribed to what, from membership alone. */
  checkSubscriptionSet(): void {
    const expected = new Set<string>();
    for (const p of this.members.values()) {
      for (const t of this.tracks.values()) {
        if (t.publisher === p.id || this.members.get(t.publisher)?.room !== p.room) continue;
        if (p.auto || p.manual.has(t.id)) expected.add(`${p.id}|${t.id}`);
      }
    }
    const actual = new Set([...this.subs.values()].map((s) => `${s.subscriber}|${s.track.id}`));
    if (expected.size !== actual.size || [...expected].some((k) => !actual.has(k))) {
      this.fail(`subscriptions differ: expected ${[...expected].filter((k) => !actual.has(k))}, extra ${[...actual].filter((k) => !expected.has(k))}`);
    }
    const stats = this.core.stats();
    const rooms = new Set([...this.members.values()].map((m) => m.room)).size;
    if (stats.subscriptions !== this.subs.size || stats.participants !== this.members.size || stats.tracks !== this.tracks.size || stats.rooms !== rooms) {
      this.fail(`stats ${JSON.stringify(stats)} vs model subs=${this.subs.size} members=${this.members.size} tracks=${this.tracks.size} rooms=${rooms}`);
    }
  }

  tick(events: number): void {
    this.now += TICK_MS;
    for (const id of this.readyNextTick.splice(0)) {
      const sub = this.subs.get(id);
      if (!sub) continue;
      this.drive({ type: "subscription-ready", now: this.now, subscriptionId: id });
      sub.ready = true;
    }
    for (let i = 0; i < events; i++) this.randomEvent();
    if (this.now >= this.nextTimeout) this.drive({ type: "timeout", now: this.now });
    this.sendMedia();
    this.checkSubscriptionSet();
  }
}

describe("simulation: 10 rooms, random joins and leaves, audio + simulcast video", () => {
  for (const seed of [1, 42, 20240611]) {
    it(`forwards every packet to exactly the right subscribers, contiguously (seed ${seed})`, () => {
      const sim = new Simulation(seed);
      // Fill up, then churn.
      for (let i = 0; i < 10; i++) sim.tick(8);
      for (let i = 0; i < 120; i++) sim.tick(2);
      // Quiet: every wanted layer arrives (keyframe requests are answered, coalesced ones on timeout).
      for (let i = 0; i < Math.ceil((2 * INTERVAL) / TICK_MS); i++) sim.tick(0);
      expect(sim.errors).toEqual([]);
      for (const sub of sim.subs.values()) {
        const view = sim.core.subscription(sub.id);
        expect(view).toMatchObject({ state: "forwarding", currentLayer: sub.target, targetLayer: sub.target, subscriberId: sub.subscriber });
        expect(sub.forwarded).toBeGreaterThan(0);
      }
      expect(sim.core.stats().pendingKeyframeRequests).toBe(0);

      const { counts } = sim;
      expect(counts.packets).toBeGreaterThan(10_000);
      expect(counts.forwards).toBeGreaterThan(10_000);
      expect(counts.joins).toBeGreaterThan(60);
      expect(counts.leaves).toBeGreaterThan(10);
      expect(counts.roomFull).toBeGreaterThan(0);
      expect(counts.switches).toBeGreaterThan(10);
      expect(counts.wraps).toBeGreaterThan(10);

      // Everyone leaves: nothing remains.
      for (const p of [...sim.members.values()]) sim.leave(p);
      expect(sim.errors).toEqual([]);
      expect(sim.subs.size).toBe(0);
      // Counts of what is held are back to 0; the totals since the start (layer switches, data) are not.
      expect(sim.core.stats()).toMatchObject({ rooms: 0, participants: 0, tracks: 0, subscriptions: 0, pendingKeyframeRequests: 0, resumes: 0, resumeRefusals: 0, rejoins: 0 });
      expect(sim.core.stats().layerSwitches).toBeGreaterThan(0);
      expect(sim.nextTimeout).toBe(Infinity);
    });
  }
});

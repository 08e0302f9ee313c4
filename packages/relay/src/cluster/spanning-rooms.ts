/**
 * `--cluster-rooms span`: a room lives on every node that participants of it reached (docs/scale.md).
 * Each such node is in the room's set in Redis (cluster-store.ts) and keeps one pipe from each other
 * node of the set (shell/pipe-from-node.ts): a hidden session of its own in that node's room, over the
 * cluster's signaling, whose connection carries that node's own participants' tracks here. So each track
 * crosses to each other node once, and never further (a pipe carries no track it did not originate).
 *
 * The run loop: a node enters a room with its first participant there (its SFU's room_started: then
 * it joins the set, pipes from the others, and nudges them to pipe from it at once); on each
 * heartbeat it renews its membership and reconciles its pipes with the set (a pipe that ended on its
 * own is opened again while its node is in the set, after a backoff if it keeps failing); with its last
 * participant there (room_finished) it leaves the set and closes its pipes, and
 * the other nodes close theirs to it when they see it gone. A leave Redis could not take is tried again
 * on each heartbeat. After a Redis outage every pipe is opened afresh (the other nodes may have taken
 * this one for dead and dropped theirs). A stopping node leaves every set.
 */
import type { Logger } from "pino";
import type { PipeEnd } from "../shell/pipe-from-node.ts";
import type { ClusterStore } from "./cluster-store.ts";

/** A pipe that ends within this long of opening counts as a failure: the next one waits (ms). */
const SHORT_LIVED_MS = 10_000;
/** The wait after consecutive failures doubles from the first, up to the last (ms). */
const BACKOFF_MS = [1000, 30_000] as const;

export interface SpanningDeps {
  nodeId: string;
  store: ClusterStore;
  /** Opens a pipe into `room` here from `node`; `onEnded` when it ends on its own (not by close()). Undefined: this node's SFU cannot. */
  openPipe(room: string, node: string, onEnded: () => void): PipeEnd | undefined;
  /** Tells `node` this node has participants of its own in `room` now. */
  nudge(node: string, room: string): void;
  /** Redis failed (logged once per outage by the cluster node). */
  redisError(e: Error): void;
  log: Logger;
}

interface SpanRoom {
  /**
   * Started minus finished, as this node's SFU said them: 1, or more while one room name runs on two
   * workers for a moment (a worker's room placed again before its finish arrived).
   */
  started: number;
  /** The pipe from each other node of the room. */
  readonly pipes: Map<string, PipeEnd>;
  /** Per other node whose pipe ended soon after opening: the wait before the next, and its end. */
  readonly retries: Map<string, { waitMs: number; notBefore: number }>;
  /** One reconcile at a time; another asked meanwhile runs after it. */
  reconciling: Promise<void> | undefined;
  again: boolean;
}

export class SpanningRooms {
  readonly #d: SpanningDeps;
  readonly #rooms = new Map<string, SpanRoom>();
  /** Rooms this node left whose leave Redis did not take: tried again on each beat. */
  readonly #unspanned = new Set<string>();
  #stopped = false;

  constructor(deps: SpanningDeps) {
    this.#d = deps;
  }

  /** The rooms this node has participants of its own in. */
  rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Whether this node has participants of its own in `room` (a pipe from another node is welcome). */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  get pipeCount(): number {
    let n = 0;
    for (const r of this.#rooms.values()) n += r.pipes.size;
    return n;
  }

  /** The room started on this node (its SFU's room_started: its first participant of this node's). */
  hold(room: string): void {
    if (this.#stopped) return; // a join that was under way as this node began to stop: it leaves no entry
    const existing = this.#rooms.get(room);
    if (existing !== undefined) {
      existing.started++;
      return;
    }
    this.#unspanned.delete(room);
    this.#rooms.set(room, { started: 1, pipes: new Map(), retries: new Map(), reconciling: undefined, again: false });
    void this.reconcile(room, true);
  }

  /** It finished (room_finished; also said for a worker that died with it): nobody of this node is left. */
  unhold(room: string): void {
    const r = this.#rooms.get(room);
    if (r === undefined || --r.started > 0) return;
    this.#rooms.delete(room);
    for (const pipe of r.pipes.values()) pipe.close();
    r.pipes.clear();
    if (this.#stopped) return;
    this.#d.store.unspan([room]).catch((e: Error) => {
      if (!this.#rooms.has(room)) this.#unspanned.add(room); // unless it came back meanwhile
      this.#d.redisError(e);
    });
  }

  /** Another node has participants in `room` now: pipe from it without waiting for the heartbeat. */
  nudged(room: string): void {
    if (this.#rooms.has(room)) void this.reconcile(room);
  }

  /** Each heartbeat: leaves Redis missed taken again, membership renewed, pipes reconciled, in every room. */
  async beat(): Promise<void> {
    if (this.#unspanned.size > 0) {
      const rooms = [...this.#unspanned].filter((room) => !this.#rooms.has(room));
      await this.#d.store.unspan(rooms); // throws to the heartbeat while Redis is away (kept for the next)
      for (const room of rooms) this.#unspanned.delete(room);
    }
    await Promise.all(this.rooms().map((room) => this.reconcile(room)));
  }

  /** Redis is back after an outage: every pipe opens afresh (the other nodes may have dropped theirs, taking this one for dead). */
  resync(): void {
    for (const r of this.#rooms.values()) {
      for (const pipe of r.pipes.values()) pipe.close();
      r.pipes.clear();
      r.retries.clear();
    }
  }

  /**
   * Renews this node in the room's set and makes the pipes match the set's other nodes. `entering`:
   * this node just came, so the others are nudged to pipe from it.
   */
  reconcile(room: string, entering = false): Promise<void> {
    const r = this.#rooms.get(room);
    if (r === undefined) return Promise.resolve();
    if (r.reconciling !== undefined) {
      r.again = true;
      return r.reconciling;
    }
    r.reconciling = (async () => {
      do {
        r.again = false;
        let members: string[];
        try {
          members = await this.#d.store.span(room);
        } catch (e) {
          this.#d.redisError(e as Error);
          return;
        }
        if (this.#rooms.get(room) !== r || this.#stopped) return;
        const others = members.filter((n) => n !== this.#d.nodeId);
        for (const [node, pipe] of r.pipes) {
          if (others.includes(node)) continue;
          r.pipes.delete(node);
          pipe.close();
        }
        for (const node of r.retries.keys()) if (!others.includes(node)) r.retries.delete(node);
        for (const node of others) {
          if (entering) this.#d.nudge(node, room);
          if (r.pipes.has(node) || performance.now() < (r.retries.get(node)?.notBefore ?? 0)) continue;
          this.#open(room, r, node);
        }
      } while (r.again);
    })().finally(() => (r.reconciling = undefined));
    return r.reconciling;
  }

  #open(room: string, r: SpanRoom, node: string): void {
    const openedAt = performance.now();
    const retry = r.retries.get(node);
    const pipe = this.#d.openPipe(room, node, () => {
      if (r.pipes.get(node) !== pipe) return;
      r.pipes.delete(node);
      // Ended on its own: again at the next reconcile, later and later while it keeps ending soon.
      const now = performance.now();
      const short = now - openedAt < SHORT_LIVED_MS;
      const waitMs = short ? Math.min((retry?.waitMs ?? BACKOFF_MS[0] / 2) * 2, BACKOFF_MS[1]) : 0;
      r.retries.set(node, { waitMs, notBefore: now + waitMs });
      if (short) this.#d.log.warn({ room, peer: node, retryInMs: waitMs }, "a pipe from another node ended soon after it opened; it is opened again after a wait");
    });
    if (pipe !== undefined) r.pipes.set(node, pipe);
  }

  /** This node stops: every pipe closes; returns the rooms, which the caller removes this node from (before leaving Redis). */
  stop(): string[] {
    this.#stopped = true;
    const rooms = [...this.rooms(), ...this.#unspanned];
    for (const r of this.#rooms.values()) {
      for (const pipe of r.pipes.values()) pipe.close();
      r.pipes.clear();
    }
    return rooms;
  }
}

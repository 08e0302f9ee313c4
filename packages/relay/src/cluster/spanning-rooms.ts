/**
 * `--cluster-rooms span`: a room lives on every node that participants of it reached (docs/scale.md).
 * Each such node is in the room's set in Redis (cluster-store.ts) and keeps one pipe from each other
 * node of the set (shell/pipe-from-node.ts): a hidden session of its own in that node's room, over the
 * cluster's signaling, whose connection carries that node's own participants' tracks here. So each track
 * crosses to each other node once, and never further (a pipe carries no track it did not originate).
 *
 * The run loop: a node enters a room with its first session there (then it joins the set, pipes from
 * the others, and nudges them to pipe from it at once); on each heartbeat it renews its membership and
 * reconciles its pipes with the set (a pipe that ended is opened again while its node is in the set);
 * with its last session there it leaves the set and closes its pipes, and the other nodes close theirs
 * to it when they see it gone. A stopping node leaves every set.
 */
import type { Logger } from "pino";
import type { PipeEnd } from "../shell/pipe-from-node.ts";
import type { ClusterStore } from "./cluster-store.ts";

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
  /** This node's own sessions in the room (not other nodes' pipes). */
  sessions: number;
  /** The pipe from each other node of the room. */
  readonly pipes: Map<string, PipeEnd>;
  /** One reconcile at a time; another asked meanwhile runs after it. */
  reconciling: Promise<void> | undefined;
  again: boolean;
}

export class SpanningRooms {
  readonly #d: SpanningDeps;
  readonly #rooms = new Map<string, SpanRoom>();
  #stopped = false;

  constructor(deps: SpanningDeps) {
    this.#d = deps;
  }

  /** The rooms this node has participants of its own in. */
  rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  get pipeCount(): number {
    let n = 0;
    for (const r of this.#rooms.values()) n += r.pipes.size;
    return n;
  }

  /** A session of this node's was placed in `room`. */
  hold(room: string): void {
    const existing = this.#rooms.get(room);
    if (existing !== undefined) {
      existing.sessions++;
      return;
    }
    this.#rooms.set(room, { sessions: 1, pipes: new Map(), reconciling: undefined, again: false });
    void this.reconcile(room, true);
  }

  /** One of them went. */
  unhold(room: string): void {
    const r = this.#rooms.get(room);
    if (r === undefined || --r.sessions > 0) return;
    this.#rooms.delete(room);
    for (const pipe of r.pipes.values()) pipe.close();
    r.pipes.clear();
    if (!this.#stopped) this.#d.store.unspan([room]).catch((e: Error) => this.#d.redisError(e));
  }

  /** Another node has participants in `room` now: pipe from it without waiting for the heartbeat. */
  nudged(room: string): void {
    if (this.#rooms.has(room)) void this.reconcile(room);
  }

  /** Each heartbeat: membership renewed, pipes reconciled, in every room. */
  async beat(): Promise<void> {
    await Promise.all(this.rooms().map((room) => this.reconcile(room)));
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
        for (const node of others) {
          if (r.pipes.has(node)) continue;
          const pipe = this.#d.openPipe(room, node, () => {
            if (r.pipes.get(node) === pipe) r.pipes.delete(node);
          });
          if (pipe !== undefined) r.pipes.set(node, pipe);
          if (entering) this.#d.nudge(node, room);
        }
      } while (r.again);
    })().finally(() => (r.reconciling = undefined));
    return r.reconciling;
  }

  /** This node stops: every pipe closes; the caller removes this node from the sets (before leaving Redis). */
  stop(): string[] {
    this.#stopped = true;
    const rooms = this.rooms();
    for (const r of this.#rooms.values()) {
      for (const pipe of r.pipes.values()) pipe.close();
      r.pipes.clear();
    }
    return rooms;
  }
}

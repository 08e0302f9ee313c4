/**
 * WHIP and WHEP with `--workers N`. The HTTP of them (http/whip.ts: CORS and OPTIONS, the checks of
 * method, content type, size and room name, the answer's status and headers) stays in the primary, so
 * every answer is the one a single process gives; only its calls on the sessions (WhipBackend) are
 * carried to a worker (whip-calls.ts), whose WhipSessions drive its shell (worker-main.ts).
 *
 * A POST goes to the worker of its room, or where a new room is placed: WorkerPool's rule for joins.
 * A resource (PATCH, DELETE) goes to the worker that made it, found in a map kept here. The worker is
 * not written into the resource id: the primary counts each worker's WHIP/WHEP sessions anyway (the
 * placement's load, or a relay fed only by WHIP would put every room on the first worker), and the map
 * is that count; the id stays the bare secret it is in one process. A dead worker's entries go with it,
 * so its resources answer 404 unknown-session, as a session that ended does.
 */
import { type SessionKind, unknownSession, type WhepWish, type WhipBackend, type WhipPublished, type WhipRefusal } from "../signal/whip-sessions.ts";
import type { WhipCall } from "./whip-calls.ts";
import type { WorkerProcess } from "./worker-process.ts";

/** Runs `call` on the worker that holds `room` or is given it, the room held there meanwhile (WorkerPool). */
export type InRoom = <T>(room: string, call: (worker: WorkerProcess) => Promise<T>) => Promise<T>;

/** A POST whose worker died before it answered. */
const WORKER_LOST: WhipRefusal = { status: 503, error: "unavailable", message: "the relay process holding the room stopped while answering; POST the offer again" };

export class WorkerWhip implements WhipBackend {
  readonly #inRoom: InRoom;
  /** Each live session's worker, by resource id. */
  readonly #resources = new Map<string, WorkerProcess>();

  constructor(inRoom: InRoom) {
    this.#inRoom = inRoom;
  }

  get size(): number {
    return this.#resources.size;
  }

  publish(room: string, name: string, token: string | undefined, offer: string): Promise<WhipPublished | WhipRefusal> {
    return this.#create({ method: "publish", room, name, token, offer });
  }

  view(room: string, token: string | undefined, offer: string, wish: WhepWish): Promise<WhipPublished | WhipRefusal> {
    return this.#create({ method: "view", room, token, offer, wish });
  }

  async etag(kind: SessionKind, room: string, resourceId: string): Promise<string | undefined> {
    return (await this.#onResource({ method: "etag", kind, room, resourceId }))?.result;
  }

  async restartIce(kind: SessionKind, room: string, resourceId: string, ufrag: string, pwd: string): Promise<{ fragment: string; etag: string } | WhipRefusal> {
    const reply = await this.#onResource({ method: "restartIce", kind, room, resourceId, ufrag, pwd });
    return reply === undefined ? unknownSession(kind, room, resourceId) : reply.result;
  }

  async end(kind: SessionKind, room: string, resourceId: string): Promise<WhipRefusal | undefined> {
    const reply = await this.#onResource({ method: "end", kind, room, resourceId });
    if (reply === undefined) return unknownSession(kind, room, resourceId);
    if (reply.result === undefined) this.#forget(resourceId);
    return reply.result;
  }

  /** The worker ended a session itself (its connection failed, the server API removed it). */
  ended(worker: WorkerProcess, resourceId: string): void {
    if (this.#resources.get(resourceId) === worker) this.#forget(resourceId);
  }

  /** A worker died: its sessions are gone with it (the pool resets its load). */
  died(worker: WorkerProcess): void {
    for (const [resourceId, w] of this.#resources) if (w === worker) this.#resources.delete(resourceId);
  }

  #create(call: Extract<WhipCall, { method: "publish" | "view" }>): Promise<WhipPublished | WhipRefusal> {
    return this.#inRoom(call.room, async (worker) => {
      const reply = await worker.whip(call);
      if (reply === undefined) return WORKER_LOST;
      const published = reply.result;
      // Its whip-ended cannot come before this: the worker stores the session and posts the reply in one
      // task (what ends a session, a timer or a message, is a later one), and IPC keeps order.
      if (!("status" in published)) {
        this.#resources.set(published.resourceId, worker);
        worker.load++;
      }
      return published;
    });
  }

  /** The call on the resource's worker; undefined: no such resource, or its worker died (meanwhile). */
  async #onResource<C extends Extract<WhipCall, { resourceId: string }>>(call: C) {
    const worker = this.#resources.get(call.resourceId);
    if (worker === undefined || !worker.usable) return undefined;
    return worker.whip(call);
  }

  #forget(resourceId: string): void {
    const worker = this.#resources.get(resourceId);
    if (worker === undefined) return;
    this.#resources.delete(resourceId);
    worker.load--;
  }
}

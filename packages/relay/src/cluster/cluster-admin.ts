/**
 * The server API (/api/*, docs/api.md) across a cluster: a call about one room goes to the node holding
 * it (the directory; this node's SFU when it holds it or nobody does), ListRooms to every registered
 * node, their rooms put together. Calls cross Redis pub/sub (node-bus.ts) as `admin` and are answered
 * `admin-reply`; a node that does not answer within ADMIN_TIMEOUT_MS is left out of a ListRooms, and a
 * call about one room answers `unknown-room` saying the node did not answer.
 *
 * With --cluster-rooms span a room has no one holder: each node of it answers for its own participants
 * (core/admin.ts), so a call about the room goes to every node of it and the answers are put together
 * (the participants of all; the one node whose participant it is; a room listed once with everyone).
 */
import type { AdminRequest, AdminResult, AdminRoom, Grants } from "../core/index.ts";
import type { NodeMessage } from "./cluster-protocol.ts";
import type { ClusterStore } from "./cluster-store.ts";
import type { NodeBus } from "./node-bus.ts";

/** How long a node gets to answer a server API call (ms). */
export const ADMIN_TIMEOUT_MS = 3000;

type LocalAdmin = (grants: Grants, request: AdminRequest) => AdminResult | Promise<AdminResult>;

export class ClusterAdmin {
  readonly #nodeId: string;
  readonly #store: ClusterStore;
  readonly #bus: NodeBus;
  readonly #local: LocalAdmin;
  readonly #span: boolean;
  readonly #pending = new Map<number, { node: string; done: (result: AdminResult | undefined) => void }>();
  #seq = 0;

  constructor(nodeId: string, store: ClusterStore, bus: NodeBus, local: LocalAdmin, span = false) {
    this.#nodeId = nodeId;
    this.#store = store;
    this.#bus = bus;
    this.#local = local;
    this.#span = span;
  }

  /** `directoryDown`: what to answer when Redis cannot be asked (this node's SFU alone). */
  async call(grants: Grants, request: AdminRequest, directoryDown: (e: Error) => AdminResult | Promise<AdminResult>): Promise<AdminResult> {
    if (request.method === "ListRooms") return this.#listRooms(grants, request, directoryDown);
    if (this.#span) return this.#spanCall(grants, request, directoryDown);
    let holder: string | undefined;
    try {
      holder = await this.#store.holder(request.room);
    } catch (e) {
      return directoryDown(e as Error);
    }
    if (holder === undefined || holder === this.#nodeId) return this.#local(grants, request);
    return (await this.#ask(holder, grants, request)) ?? {
      ok: false, code: "unknown-room", message: `relay node ${holder} holds room "${request.room}" but did not answer within ${ADMIN_TIMEOUT_MS} ms; try again`,
    };
  }

  /** Another node's call for this node's SFU, or the answer to one of this node's. */
  onMessage(m: Extract<NodeMessage, { type: "admin" | "admin-reply" }>): void {
    if (m.type === "admin-reply") {
      const pending = this.#pending.get(m.seq);
      if (pending?.node === m.from) pending.done(m.result);
      return;
    }
    Promise.resolve(this.#local(m.grants, m.request)).then(
      (result) => this.#bus.send(m.from, { type: "admin-reply", from: this.#nodeId, seq: m.seq, result }),
      () => this.#bus.send(m.from, { type: "admin-reply", from: this.#nodeId, seq: m.seq, result: { ok: false, code: "unknown-room", message: "the relay node failed to handle this call" } }),
    );
  }

  /** Every node's rooms (a refusal, e.g. forbidden, is every node's: this node's is returned). */
  async #listRooms(grants: Grants, request: AdminRequest, directoryDown: (e: Error) => AdminResult | Promise<AdminResult>): Promise<AdminResult> {
    const mine = await this.#local(grants, request);
    if (!mine.ok || !("rooms" in mine.body)) return mine;
    let others: string[];
    try {
      others = [...(await this.#store.nodes()).keys()].filter((n) => n !== this.#nodeId);
    } catch (e) {
      return directoryDown(e as Error);
    }
    const results = await Promise.all(others.map((n) => this.#ask(n, grants, request)));
    // A spanning room is listed by each of its nodes (with their own participants): once here, with all.
    const rooms = new Map<string, AdminRoom>();
    for (const room of [mine, ...results].flatMap((r) => (r?.ok && "rooms" in r.body ? r.body.rooms : []))) {
      const seen = rooms.get(room.name);
      rooms.set(room.name, seen === undefined ? { ...room } : { ...seen, participants: seen.participants + room.participants, tracks: seen.tracks + room.tracks });
    }
    return { ok: true, body: { rooms: [...rooms.values()] } };
  }

  /** A call about a spanning room: every node of it answers for its own participants; the answers, together. */
  async #spanCall(grants: Grants, request: Exclude<AdminRequest, { method: "ListRooms" }>, directoryDown: (e: Error) => AdminResult | Promise<AdminResult>): Promise<AdminResult> {
    let nodes: string[];
    try {
      nodes = await this.#store.spanNodes(request.room);
    } catch (e) {
      return directoryDown(e as Error);
    }
    const others = nodes.filter((n) => n !== this.#nodeId);
    const results = [await this.#local(grants, request), ...(await Promise.all(others.map((n) => this.#ask(n, grants, request))))];
    const answered = results.filter((r): r is AdminResult => r !== undefined);
    const ok = answered.filter((r): r is Extract<AdminResult, { ok: true }> => r.ok);
    if (request.method === "ListParticipants" && ok.length > 0) {
      return { ok: true, body: { participants: ok.flatMap((r) => ("participants" in r.body ? r.body.participants : [])) } };
    }
    if (ok.length > 0) return ok[0]!;
    // Nobody's: the most telling refusal (forbidden, then a participant or track, then the room).
    const rank = (r: AdminResult) => (r.ok ? 0 : ["unknown-room", "unknown-participant", "unknown-track", "forbidden"].indexOf(r.code));
    const silent = results.length - answered.length;
    const best = answered.sort((x, y) => rank(y) - rank(x))[0]!;
    return silent > 0 && !best.ok && best.code === "unknown-room" ? { ...best, message: `${best.message} (${silent} node(s) of the room did not answer within ${ADMIN_TIMEOUT_MS} ms)` } : best;
  }

  #ask(node: string, grants: Grants, request: AdminRequest): Promise<AdminResult | undefined> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), ADMIN_TIMEOUT_MS);
      const done = (result: AdminResult | undefined) => {
        clearTimeout(timer);
        this.#pending.delete(seq);
        resolve(result);
      };
      this.#pending.set(seq, { node, done });
      void this.#bus.send(node, { type: "admin", from: this.#nodeId, seq, grants, request }).then((delivered) => delivered || done(undefined));
    });
  }
}

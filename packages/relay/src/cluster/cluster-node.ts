/**
 * `--redis URL`: this relay is one node of a cluster (docs/scale.md). A client may connect to any
 * node; its session is placed, when its `join` or `resume` names a room, on the node holding the room
 * (the room directory in Redis, cluster-store.ts), which becomes the room's holder if it had none.
 * A session placed here goes to this node's SFU (the SfuShell or the worker pool) as it would without
 * a cluster; one placed elsewhere is proxied: its messages go to the holder over Redis pub/sub
 * (node-bus.ts) and what the holder's SFU says comes back (hosted-sessions.ts is the holder's side).
 * Media never crosses Redis: the client's peer connections go to the holder, whose ICE candidates it
 * was given.
 *
 * The run loop is a heartbeat (HEARTBEAT_MS): this node's registry entry and its rooms' entries are
 * renewed (NODE_TTL_MS), and the nodes it proxies to or for are checked. A node that stops tells its
 * peers and deletes its entries; one that dies is found by its expired entry. Either way the sessions
 * it held are ended as lost (close 1012: the SDK reconnects, and its resume or rejoin is placed again,
 * on a live node that takes the room over), and those it proxied are closed as their WebSockets would
 * be. A session never moves once it has joined.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import { createClient } from "redis";
import type { ClientMessage } from "@sfu-room/protocol";
import type { AdminRequest, AdminResult, Grants, RoomEventOutput } from "../core/index.ts";
import { ClusterAdmin } from "./cluster-admin.ts";
import { newId } from "../sfu-from-config.ts";
import type { ClusterNumbers } from "../http/metrics.ts";
import type { BackendPort, SignalBackend } from "../signal/session.ts";
import type { NodeMessage } from "./cluster-protocol.ts";
import { ClusterStore, type NodeEntry, type RedisClient } from "./cluster-store.ts";
import { HostedSessions, type RoomHolds } from "./hosted-sessions.ts";
import { NodeBus } from "./node-bus.ts";
import { SpanningRooms } from "./spanning-rooms.ts";
import type { PipeEnd } from "../shell/pipe-from-node.ts";

/** How often a node renews its entries and checks its peers (ms). */
export const HEARTBEAT_MS = 1000;
/** A node silent this long is dead: its registry entry and its rooms' entries expire (ms). */
export const NODE_TTL_MS = 4000;
/** How long a first connection to Redis may take before the relay refuses to start (ms). */
const CONNECT_TIMEOUT_MS = 5000;
/**
 * How long a proxied message may wait for its holder's `handled` before the session is given up as lost
 * (pub/sub delivers at most once: a message or its answer lost with a Redis restart is never answered).
 * Long, as a holder under a join storm may take seconds to negotiate; the registry finds dead nodes sooner.
 */
const HANDLED_TIMEOUT_MS = 30_000;
/** Redis calls while stopping or answering /health get this long (a Redis that hangs must not hang them). */
const REDIS_CALL_TIMEOUT_MS = 2000;

/** What a session whose holder stopped or died, or whose room could not be looked up, is told (close 1012). */
export const NODE_LOST_REASON = "the relay node holding your room stopped; reconnect";
const DIRECTORY_DOWN_REASON = "the relay could not reach its room directory (Redis); reconnect";

export interface ClusterNodeOptions {
  redisUrl: string;
  /** This node's id in the registry (default: hostname, process id and a random part). */
  nodeId: string | undefined;
  /** This node's SFU: what sessions placed here are opened on. */
  local: SignalBackend;
  /** This node's SFU's server API (what other nodes' calls about its rooms reach). */
  admin(grants: Grants, request: AdminRequest): AdminResult | Promise<AdminResult>;
  /**
   * Whether a join's token lets it into the room it names (the relay's keys; undefined: an open relay).
   * One that does not is answered by this node's SFU (its refusal) and claims no room: a socket without
   * a valid token cannot make a room name this node's.
   */
  joinAdmitted?: (token: string | undefined, room: string) => Promise<boolean>;
  /**
   * --cluster-rooms span: every session is placed on this node, and a room whose participants are on
   * several nodes spans them (spanning-rooms.ts); needs `local.openPipe`. Default: proxied to the room's holder.
   */
  span?: boolean;
  log: Logger;
}

/** A session placed on this node's SFU (`id`: the participant it speaks as there), or proxied to `node`. */
type Route =
  | { readonly node: undefined; id: string; readonly port: BackendPort }
  | { readonly node: string; readonly pending: Map<number, (error?: string) => void> };

interface RoutedSession {
  /** What the session speaks as toward this class (the SignalSession's id; it never changes here). */
  readonly key: string;
  readonly port: BackendPort;
  route: Route | undefined;
  room: string | undefined;
  /** Joined or resumed: it stays where it is. */
  joined: boolean;
  /** Told to go (closed, kicked, lost): its WebSocket closes soon; it is never placed again. */
  ended: boolean;
  /** This node's pipe into a spanning room on `route.node` (not a client's session). */
  pipe?: true;
}

interface RoomHold {
  /** Sessions placed in the room here, from this node's WebSockets and from other nodes'. */
  sessions: number;
  /** Between this node's SFU's room_started and room_finished (participants held for a resume count). */
  live: boolean;
  /** Another node holds the room's entry now (this node was thought dead): no longer renewed nor released. */
  lost: boolean;
}

export class ClusterNode implements SignalBackend, RoomHolds {
  readonly nodeId: string;
  readonly #local: SignalBackend;
  readonly #log: Logger;
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #store: ClusterStore;
  readonly #startedAt = Date.now();
  #bus!: NodeBus;
  #hosted!: HostedSessions;
  #admin!: ClusterAdmin;
  /** --cluster-rooms span: the rooms this node has participants in, and their pipes. */
  #spanning: SpanningRooms | undefined;
  readonly #localAdmin: ClusterNodeOptions["admin"];
  readonly #joinAdmitted: NonNullable<ClusterNodeOptions["joinAdmitted"]>;
  readonly #sessions = new Map<string, RoutedSession>();
  /** The rooms this node holds (its entries in the directory). */
  readonly #holds = new Map<string, RoomHold>();
  /**
   * Claims in flight, by room: while one is, the room is not released (a release racing the claim
   * would delete the entry the claim just renewed), and the room is not yet held (renewed, reported).
   */
  readonly #claiming = new Map<string, number>();
  #stopping: Promise<void> | undefined;
  /** `closed` messages Redis could not take (an outage): sent again after the next heartbeat that works. */
  #undelivered: Array<{ node: string; message: NodeMessage }> = [];
  #seq = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();
  #inBeat = false;
  #redisDown = false;
  /** When the last heartbeat that reached Redis ended. */
  #lastGoodBeat = performance.now();
  #stopped = false;
  /** The registry as last read (refresh()): /health's `cluster.nodes`. */
  #nodes = new Map<string, NodeEntry>();
  #nodesReadAt = -Infinity;

  private constructor(options: ClusterNodeOptions, redis: RedisClient, subscriber: RedisClient) {
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${newId("N").slice(-6)}`;
    this.#local = options.local;
    this.#localAdmin = options.admin;
    this.#joinAdmitted = options.joinAdmitted ?? (async () => true);
    this.#log = options.log.child({ node: this.nodeId });
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#store = new ClusterStore(redis, this.nodeId, NODE_TTL_MS);
    if (options.span) {
      this.#spanning = new SpanningRooms({
        nodeId: this.nodeId, store: this.#store, log: this.#log,
        openPipe: (room, node, onEnded) => this.#openPipe(room, node, onEnded),
        nudge: (node, room) => void this.#bus.send(node, { type: "span", from: this.nodeId, room }),
        redisError: (e) => this.#redisError(e),
      });
    }
  }

  /** Connects to Redis (rejects, naming the URL and why, when it cannot), registers, and starts the heartbeat. */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    let connected = false;
    const redis: RedisClient = createClient({
      url: options.redisUrl,
      // At start, one try: a relay pointed at the wrong Redis must say so, not wait. Later, retry (a Redis restart).
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries) => (connected ? Math.min(100 * 2 ** retries, 2000) : false) },
      // While Redis is away a command fails at once (a join is told to reconnect), rather than waiting in a queue.
      disableOfflineQueue: true,
    });
    const subscriber = redis.duplicate();
    let firstError: Error | undefined;
    for (const client of [redis, subscriber]) client.on("error", (e: Error) => (firstError ??= e));
    try {
      await redis.connect();
      await subscriber.connect();
    } catch (e) {
      await Promise.allSettled([redis.destroy(), subscriber.destroy()]);
      const why = (firstError ?? (e as Error)).message || (e as Error).name;
      throw new Error(`could not connect to Redis at ${redactUrl(options.redisUrl)} (--redis): ${why}`);
    }
    connected = true;
    const node = new ClusterNode(options, redis, subscriber);
    for (const client of [redis, subscriber]) client.removeAllListeners("error").on("error", (e: Error) => node.#redisError(e));
    try {
      node.#bus = await NodeBus.listen(redis, subscriber, node.nodeId, node.#log, (m) => node.#onMessage(m), (e) => node.#redisError(e));
      await node.#store.heartbeat(node.#entry());
    } catch (e) {
      await Promise.allSettled([redis.destroy(), subscriber.destroy()]);
      throw new Error(`could not join the cluster through Redis at ${redactUrl(options.redisUrl)} (--redis): ${(e as Error).message}`);
    }
    node.#hosted = new HostedSessions(node.nodeId, node.#local, node.#bus, node, (room) => node.#confirmHere(room), (room) => node.#spanning?.has(room) ?? false, node.#log);
    node.#admin = new ClusterAdmin(node.nodeId, node.#store, node.#bus, options.admin, options.span === true);
    node.#heartbeat = setInterval(() => {
      // One beat at a time: a slow Redis skips beats rather than piling them up.
      if (!node.#inBeat) node.#beating = node.#beat();
    }, HEARTBEAT_MS);
    node.#log.info({ redis: redactUrl(options.redisUrl) }, "joined the cluster");
    return node;
  }

  // ------------------------------------------------------------------------------------------
  // Sessions on this node's WebSockets (SignalBackend)
  // ------------------------------------------------------------------------------------------

  open(port: BackendPort): string {
    const session: RoutedSession = { key: newId("P"), port, route: undefined, room: undefined, joined: false, ended: false };
    this.#sessions.set(session.key, session);
    return session.key;
  }

  async handle(key: string, message: ClientMessage): Promise<void> {
    const session = this.#sessions.get(key);
    if (session === undefined) return;
    if (!session.joined && (message.type === "join" || message.type === "resume")) {
      // A resume proves itself on the room's node (its secret); a join's token is checked here first.
      const admitted = message.type === "resume" || (await this.#joinAdmitted(message.token, message.room));
      // Span: a resume of a participant of another node (mirrored here), or a rejoin replacing one, is
      // run by that node, proxied (that node holds the participant and proves the secret).
      const of = message.type === "resume" ? message.participantId : message.rejoinOf?.participantId;
      const onNode = of !== undefined && this.#spanning !== undefined ? await this.#nodeOf(message.room, of) : undefined;
      if (!(await this.#place(session, admitted ? message.room : undefined, onNode))) return;
    } else if (session.route === undefined) {
      // Not in a room yet (a message before `join`): this node's SFU answers it.
      if (!(await this.#place(session, undefined))) return;
    }
    const route = session.route!;
    if (route.node === undefined) return this.#local.handle(route.id, message);
    const seq = ++this.#seq;
    const error = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn({ peer: route.node, type: message.type }, "no answer from the node holding a session's room; the session is lost");
        if (session.route === route) this.#lose(session);
      }, HANDLED_TIMEOUT_MS);
      route.pending.set(seq, (e) => {
        clearTimeout(timer);
        route.pending.delete(seq);
        resolve(e);
      });
      this.#bus.send(route.node, { type: "message", from: this.nodeId, session: key, seq, message }).then((delivered) => {
        // Redis down, or the holder no longer listening: nobody will answer; the client reconnects.
        if (!delivered && session.route === route) this.#lose(session);
      });
    });
    if (error !== undefined) throw new Error(`on node ${route.node}: ${error}`);
  }

  closed(key: string, _port: BackendPort): void {
    const session = this.#sessions.get(key);
    if (session === undefined) return;
    this.#sessions.delete(key);
    this.#detach(session);
  }

  // ------------------------------------------------------------------------------------------
  // Rooms this node holds (RoomHolds; the SFU's room events)
  // ------------------------------------------------------------------------------------------

  hold(room: string): void {
    if (this.#spanning !== undefined) return; // a spanning room is here while participants of this node are (roomEvent)
    const h = this.#holds.get(room) ?? { sessions: 0, live: false, lost: false };
    h.sessions++;
    this.#holds.set(room, h);
  }

  unhold(room: string): void {
    if (this.#spanning !== undefined) return;
    const h = this.#holds.get(room);
    if (h === undefined) return;
    h.sessions--;
    this.#maybeRelease(room, h);
  }

  /**
   * Holds `room` here (hold(); unhold() when done) if this node holds it or becomes its holder: returns
   * undefined then, else the node holding it, "unreachable" (Redis) or "stopping" (this node).
   */
  async holdHere(room: string): Promise<string | undefined> {
    if (this.#stopped) return "stopping";
    if (this.#spanning !== undefined) return undefined; // span: every node runs the room's participants that reach it
    let holder: string;
    try {
      holder = await this.#claimAndHold(room);
    } catch (e) {
      this.#redisError(e as Error);
      return "unreachable";
    }
    return holder === this.nodeId ? undefined : holder;
  }

  /**
   * Claims `room` (counted in flight meanwhile, so this node does not release it in between) and, if
   * this node holds it now, holds it (the caller unholds): the node holding it. Throws when Redis does.
   */
  async #claimAndHold(room: string): Promise<string> {
    this.#claimInFlight(room, 1);
    try {
      const holder = await this.#store.claim(room);
      if (holder === this.nodeId) this.hold(room);
      return holder;
    } finally {
      this.#claimInFlight(room, -1);
    }
  }

  /** This node's SFU started or finished a room (the relay's room events, also without webhooks). */
  roomEvent(event: RoomEventOutput): void {
    if (this.#spanning !== undefined) {
      // A spanning room is on this node while participants of its own are in it: from its SFU's
      // room_started to its room_finished (which hold them through a resume window and a rejoin that
      // replaces a session, and count WHIP/WHEP ones; not its sockets'; also said for a dead worker).
      // After the SFU's drain (this is called in it): closing pipes feeds that SFU's core again.
      const spanning = this.#spanning;
      if (event.event === "room_started") queueMicrotask(() => spanning.hold(event.room));
      else if (event.event === "room_finished") queueMicrotask(() => spanning.unhold(event.room));
      return;
    }
    if (event.event === "room_started") {
      const h = this.#holds.get(event.room) ?? { sessions: 0, live: false, lost: false };
      h.live = true;
      this.#holds.set(event.room, h);
    } else if (event.event === "room_finished") {
      const h = this.#holds.get(event.room);
      if (h === undefined) return;
      h.live = false;
      this.#maybeRelease(event.room, h);
    }
  }

  #maybeRelease(room: string, h: RoomHold): void {
    if (h.sessions > 0 || h.live || this.#holds.get(room) !== h || (this.#claiming.get(room) ?? 0) > 0) return;
    this.#holds.delete(room);
    if (this.#stopped || h.lost) return;
    this.#store.release([room]).catch((e: Error) => this.#redisError(e));
  }

  /** A claim of `room` starts (+1) or ends (-1); when the last ends, a room nobody holds here any more is released. */
  #claimInFlight(room: string, delta: 1 | -1): void {
    const n = (this.#claiming.get(room) ?? 0) + delta;
    if (n > 0) this.#claiming.set(room, n);
    else this.#claiming.delete(room);
    const h = this.#holds.get(room);
    if (n <= 0 && h !== undefined) this.#maybeRelease(room, h);
  }

  /** The rooms this node holds and renews (not those another node took over). */
  #heldRooms(): string[] {
    return [...this.#holds].filter(([, h]) => !h.lost).map(([room]) => room);
  }

  // ------------------------------------------------------------------------------------------
  // Server API
  // ------------------------------------------------------------------------------------------

  /** A server API call, on the node holding its room (ListRooms: every node); without Redis, this node's SFU alone. */
  async admin(grants: Grants, request: AdminRequest): Promise<AdminResult> {
    return this.#admin.call(grants, request, (e) => {
      this.#redisError(e);
      return this.#localAdmin(grants, request);
    });
  }

  /** Whether this node holds `room` (claiming it if nobody does): a session another node sent here for it may stay. */
  async #confirmHere(room: string): Promise<boolean> {
    if (this.#spanning !== undefined) return true; // span: no one holder (a session is sent here to resume a participant here)
    try {
      return (await this.#store.claim(room)) === this.nodeId;
    } catch (e) {
      this.#redisError(e as Error);
      return true; // Redis away: the origin's directory said so a moment ago
    }
  }

  // ------------------------------------------------------------------------------------------
  // Health and stop
  // ------------------------------------------------------------------------------------------

  /** Reads the registry for /health, at most once a second (a Redis that does not answer leaves the last reading). */
  async refresh(): Promise<void> {
    if (performance.now() - this.#nodesReadAt < 1000) return;
    this.#nodesReadAt = performance.now();
    try {
      this.#nodes = await bounded(this.#store.nodes());
    } catch (e) {
      this.#redisError(e as Error);
    }
  }

  /** The sfu_cluster_* metrics (http/metrics.ts), as of the last refresh() for the node count. */
  numbers(): ClusterNumbers {
    return { redisUp: !this.#redisDown, nodes: this.#nodes.size, roomsHeld: this.#roomsHere().length, proxiedSessions: this.#proxiedCount(), hostedSessions: this.#hosted.size };
  }

  #proxiedCount(): number {
    let n = 0;
    for (const s of this.#sessions.values()) if (s.route?.node !== undefined && !s.pipe) n++;
    return n;
  }

  /** The rooms held here, or (span) those this node has participants in. */
  #roomsHere(): string[] {
    return this.#spanning?.rooms() ?? this.#heldRooms();
  }

  /** /health's `cluster`: this node, what it holds and proxies, and the nodes registered at the last refresh(). */
  healthDetail(): Record<string, unknown> {
    const proxied = this.#proxiedCount();
    return {
      cluster: {
        node: this.nodeId,
        redis: this.#redisDown ? "unreachable" : "ok",
        rooms: this.#roomsHere().sort(),
        ...(this.#spanning === undefined ? {} : { roomsSpan: true, pipes: this.#spanning.pipeCount }),
        proxiedSessions: proxied,
        hostedSessions: this.#hosted.size,
        nodes: [...this.#nodes].map(([id, entry]) => ({ id, ...entry })),
      },
    };
  }

  /**
   * Leaves the cluster: the directory forgets this node's rooms and the registry this node, the nodes it
   * proxies to or for are told (their sessions end, to be placed again elsewhere), and Redis is let go.
   * Called before the SFU stops, so no room is placed here meanwhile.
   */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#stop());
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    const peers = new Set([...this.#hosted.origins(), ...this.#proxiedTo()]);
    // Before the hosted sessions close: a room only they held leaves #holds as they go.
    const rooms = this.#heldRooms();
    const spanned = this.#spanning?.stop() ?? [];
    // Other nodes' sessions leave this node's SFU now (as closed sockets), not when it stops after the drain.
    this.#hosted.stop();
    try {
      await bounded(this.#beating);
      await bounded(this.#store.release(rooms));
      await bounded(this.#store.unspan(spanned));
      await bounded(this.#store.leave());
      await Promise.all([...peers].map((peer) => bounded(this.#bus.send(peer, { type: "stopping", from: this.nodeId }))));
      await bounded(this.#bus.close());
      await bounded(this.#subscriber.close());
      await bounded(this.#redis.close());
    } catch (e) {
      this.#log.warn({ reason: (e as Error).message }, "could not leave the cluster cleanly (its entries expire on their own)");
      await Promise.allSettled([this.#subscriber.destroy(), this.#redis.destroy()]);
    }
    for (const session of this.#sessions.values()) if (session.route?.node !== undefined) this.#lose(session);
  }

  // ------------------------------------------------------------------------------------------
  // Placement
  // ------------------------------------------------------------------------------------------

  /** Span: the other node a participant mirrored here in `room` is on, or undefined (here, or nobody's). */
  async #nodeOf(room: string, participantId: string): Promise<string | undefined> {
    const origin = await this.#local.originOf?.(room, participantId);
    return origin === this.nodeId ? undefined : origin;
  }

  /**
   * Routes the session to `room`'s holder (this node if it had none; span: this node, or `spanNode`
   * for a resume of that node's participant): false if it could not (the session is ended).
   */
  async #place(session: RoutedSession, room: string | undefined, spanNode?: string): Promise<boolean> {
    if (session.ended || this.#stopped) return false;
    let holder: string | undefined = spanNode;
    if (room !== undefined && this.#spanning === undefined) {
      // Held here (when it is here) from the claim on: this session's hold, released on every way out below.
      try {
        holder = await this.#claimAndHold(room);
      } catch (e) {
        this.#redisError(e as Error);
        this.#end(session, "lost", DIRECTORY_DOWN_REASON);
        return false;
      }
      if (holder === this.nodeId) holder = undefined;
    }
    // Closed or ended meanwhile, or this node began to stop: nothing is placed.
    if (this.#sessions.get(session.key) !== session || session.ended || this.#stopped) {
      if (room !== undefined && holder === undefined) this.unhold(room);
      return false;
    }
    const route = session.route;
    if (route !== undefined && route.node === holder && session.room === room) {
      if (room !== undefined && holder === undefined) this.unhold(room); // already counted
      return true;
    }
    this.#detach(session);
    session.room = room;
    if (holder === undefined) {
      // The hold taken above is this session's now.
      const local: Route = { node: undefined, id: "", port: this.#localPort(session) };
      session.route = local;
      local.id = this.#local.open(local.port);
    } else {
      session.route = { node: holder, pending: new Map() };
      void this.#bus.send(holder, { type: "open", from: this.nodeId, session: session.key, room: room! });
    }
    return true;
  }

  /** Ends the session as the SFU or the cluster decided: its WebSocket closes, and it is never placed again. */
  #end(session: RoutedSession, how: "close" | "kick" | "lost", reason: string): void {
    session.ended = true;
    if (how === "kick") session.port.kick(reason);
    else if (how === "lost") session.port.lost(reason);
    else session.port.close(reason);
  }

  /** The port this node's SFU sees for a session placed here: the session's, while it is placed here. */
  #localPort(session: RoutedSession): BackendPort {
    const current = () => session.route?.node === undefined && session.route?.port === port;
    const port: BackendPort = {
      send: (message) => {
        if (!current()) return;
        if (message.type === "joined" || message.type === "resumed") session.joined = true;
        session.port.send(message);
      },
      close: (reason) => current() && this.#end(session, "close", reason),
      kick: (reason) => current() && this.#end(session, "kick", reason),
      lost: (reason) => current() && this.#end(session, "lost", reason),
      bind: (participantId) => {
        if (session.route?.node === undefined && session.route?.port === port) session.route.id = participantId;
      },
    };
    return port;
  }

  /** Takes the session off where it is placed (which forgets it). */
  #detach(session: RoutedSession): void {
    const route = session.route;
    if (route === undefined) return;
    session.route = undefined;
    if (route.node === undefined) {
      this.#local.closed(route.id, route.port);
      if (session.room !== undefined) this.unhold(session.room);
    } else {
      if (!this.#stopped) this.#sendClosed(route.node, session.key);
      for (const done of [...route.pending.values()]) done();
    }
    session.room = undefined;
  }

  /** Tells `node` the session closed; kept to send again if Redis cannot take it now (its participant would stay there). */
  #sendClosed(node: string, key: string): void {
    const message: NodeMessage = { type: "closed", from: this.nodeId, session: key };
    void this.#bus.send(node, message).then((delivered) => {
      if (!delivered) this.#undelivered.push({ node, message });
    });
  }

  /**
   * The session's holder is gone, or does not answer: the client is told to reconnect (its resume or
   * rejoin is placed again). The holder is told the session closed, in case it is there after all.
   */
  #lose(session: RoutedSession): void {
    const route = session.route;
    if (route?.node === undefined) return;
    this.#detach(session);
    this.#end(session, "lost", NODE_LOST_REASON);
  }

  #proxiedTo(): Set<string> {
    const nodes = new Set<string>();
    for (const s of this.#sessions.values()) if (s.route?.node !== undefined) nodes.add(s.route.node);
    return nodes;
  }

  // ------------------------------------------------------------------------------------------
  // Messages from other nodes
  // ------------------------------------------------------------------------------------------

  #onMessage(m: NodeMessage): void {
    switch (m.type) {
      case "open":
      case "message":
      case "closed":
        this.#hosted.onMessage(m);
        return;
      case "admin":
      case "admin-reply":
        this.#admin.onMessage(m);
        return;
      case "stopping":
        this.#nodeGone(m.from);
        return;
      case "span":
        this.#spanning?.nudged(m.room);
        return;
    }
    const session = this.#sessions.get(m.session);
    const route = session?.route;
    if (session === undefined || route?.node !== m.from) return;
    switch (m.type) {
      case "send":
        if (m.message.type === "joined" || m.message.type === "resumed") session.joined = true;
        session.port.send(m.message);
        return;
      case "end":
        // The holder forgot the session already (its SFU ended it); the WebSocket's close does the rest.
        this.#end(session, m.how, m.how === "lost" ? NODE_LOST_REASON : m.reason);
        return;
      case "handled": {
        const done = route.pending.get(m.seq);
        route.pending.delete(m.seq);
        done?.(m.error);
        return;
      }
    }
  }

  /** A node stopped or died: the sessions it held reconnect, and those it sent here are closed. */
  #nodeGone(node: string): void {
    for (const session of this.#sessions.values()) if (session.route?.node === node) this.#lose(session);
    this.#hosted.originGone(node);
  }

  // ------------------------------------------------------------------------------------------
  // Heartbeat
  // ------------------------------------------------------------------------------------------

  #entry(): NodeEntry {
    let sessions = 0;
    for (const s of this.#sessions.values()) if (!s.pipe) sessions++;
    return { startedAt: this.#startedAt, sessions, rooms: this.#roomsHere().length };
  }

  // ------------------------------------------------------------------------------------------
  // Pipes (--cluster-rooms span)
  // ------------------------------------------------------------------------------------------

  /**
   * A pipe into `room` here from `node`: a session of this node's on `node` (routed as a proxied one,
   * opened there as a pipe), whose receiving end is this node's SFU's (openPipe). `onEnded` runs when
   * it ends other than by its PipeEnd's close() (the other side ended it, or this node's SFU did: a
   * worker died), so SpanningRooms opens it again.
   */
  #openPipe(room: string, node: string, onEnded: () => void): PipeEnd | undefined {
    if (this.#local.openPipe === undefined || this.#stopped) return undefined;
    const key = newId("P");
    let end: PipeEnd | undefined;
    const over = (reason: string) => {
      if (this.#sessions.get(key) !== session) return;
      this.closed(key, port);
      end?.ended(reason);
      onEnded();
    };
    const port: BackendPort = { send: (message) => end?.receive(message), close: over, kick: over, lost: over, bind: () => {} };
    const session: RoutedSession = { key, port, route: { node, pending: new Map() }, room, joined: true, ended: false, pipe: true };
    this.#sessions.set(key, session);
    void this.#bus.send(node, { type: "open", from: this.nodeId, session: key, room, pipe: true });
    end = this.#local.openPipe(room, node, this.nodeId, {
      send: (message) => this.handle(key, message),
      close: () => {
        if (this.#sessions.get(key) !== session) return;
        this.closed(key, port);
        onEnded();
      },
    });
    return end;
  }

  async #beat(): Promise<void> {
    this.#inBeat = true;
    try {
      await this.#store.heartbeat(this.#entry());
      await this.#spanning?.beat();
      const taken = await this.#store.renew(this.#heldRooms());
      // This node was thought dead (Redis unreachable for longer than the TTL) and the room is held
      // elsewhere now: no longer renewed nor released here (logged once); its sessions still count.
      if (taken.length > 0) {
        for (const room of taken) this.#holds.get(room)!.lost = true;
        this.#log.error({ rooms: taken }, "rooms this node holds are held by another node now: their participants here are in a split room until they reconnect");
      }
      // What an outage kept from other nodes, now (those to nodes that are gone are dropped below).
      const undelivered = this.#undelivered;
      this.#undelivered = [];
      for (const { node, message } of undelivered) {
        if (!(await this.#bus.send(node, message))) this.#undelivered.push({ node, message });
      }
      const peers = [...new Set([...this.#hosted.origins(), ...this.#proxiedTo()])];
      for (const node of await this.#store.dead([...new Set([...peers, ...this.#undelivered.map((u) => u.node)])])) {
        if (peers.includes(node)) this.#log.warn({ peer: node }, "a node this node proxies to or for has no registry entry: it is gone");
        this.#nodeGone(node);
        this.#undelivered = this.#undelivered.filter((u) => u.node !== node);
      }
      if (this.#redisDown) {
        this.#log.info("Redis is reachable again");
        // Away long enough for the other nodes to take this one for dead (and drop their pipes here): afresh.
        if (performance.now() - this.#lastGoodBeat >= NODE_TTL_MS) this.#spanning?.resync();
      }
      this.#lastGoodBeat = performance.now();
      this.#redisDown = false;
    } catch (e) {
      this.#redisError(e as Error);
    } finally {
      this.#inBeat = false;
    }
  }

  /** Logged once per outage (the client retries on its own). */
  #redisError(e: Error): void {
    if (this.#redisDown || this.#stopped) return;
    this.#redisDown = true;
    this.#log.error({ err: e }, "Redis is unreachable: rooms cannot be placed on other nodes until it is back");
  }
}

/** `work`, or a rejection once REDIS_CALL_TIMEOUT_MS have passed. */
function bounded<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${REDIS_CALL_TIMEOUT_MS} ms`)), REDIS_CALL_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The URL without its password, for logs and errors. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * The host's side of sessions that arrived on another node's WebSocket (their origin) for a room this
 * node holds: each is opened on this node's SFU (the SfuShell or the worker pool) through a port that
 * sends what the SFU says back to the origin. Its messages are handled as the origin sends them (the
 * origin's SignalSession sends the next only after `handled`), and an origin that stops or dies takes
 * its sessions with it, as closed WebSockets would: their participants are held for a resume.
 */
import type { Logger } from "pino";
import type { BackendPort, SignalBackend } from "../signal/session.ts";
import type { NodeMessage } from "./cluster-protocol.ts";
import type { NodeBus } from "./node-bus.ts";

/** Who counts the rooms this node holds (cluster-node.ts): a hosted session keeps its room held. */
export interface RoomHolds {
  hold(room: string): void;
  unhold(room: string): void;
}

interface HostedSession {
  readonly origin: string;
  readonly key: string;
  readonly room: string;
  readonly port: BackendPort;
  /** The participant it speaks as (a resume binds it to another). */
  participantId: string;
  /** The origin's pipe into a spanning room (--cluster-rooms span): it holds no room here. */
  readonly pipe: boolean;
}

export class HostedSessions {
  readonly #nodeId: string;
  readonly #local: SignalBackend;
  readonly #bus: NodeBus;
  readonly #holds: RoomHolds;
  /** Whether this node holds the room (claiming it if nobody does): checked for each session sent here. */
  readonly #confirm: (room: string) => Promise<boolean>;
  /** Whether a pipe from another node into `room` is welcome (this node has participants of its own there). */
  readonly #acceptsPipe: (room: string) => boolean;
  readonly #log: Logger;
  /** By origin, then by the origin's key. */
  readonly #sessions = new Map<string, Map<string, HostedSession>>();
  #stopped = false;

  constructor(nodeId: string, local: SignalBackend, bus: NodeBus, holds: RoomHolds, confirm: (room: string) => Promise<boolean>, acceptsPipe: (room: string) => boolean, log: Logger) {
    this.#acceptsPipe = acceptsPipe;
    this.#nodeId = nodeId;
    this.#local = local;
    this.#bus = bus;
    this.#holds = holds;
    this.#confirm = confirm;
    this.#log = log;
  }

  get size(): number {
    let n = 0;
    for (const byKey of this.#sessions.values()) n += byKey.size;
    return n;
  }

  /** The nodes whose sessions this node runs (watched for their death). */
  origins(): string[] {
    return [...this.#sessions.keys()];
  }

  /** An origin's message: open, message or closed. */
  onMessage(m: Extract<NodeMessage, { type: "open" | "message" | "closed" }>): void {
    if (m.type === "open") return this.#open(m.from, m.session, m.room, m.pipe === true);
    const session = this.#sessions.get(m.from)?.get(m.session);
    if (m.type === "closed") {
      if (session !== undefined) this.#close(session);
      return;
    }
    if (session === undefined) {
      // Not here (closed here already, its `open` lost, or this node restarted): the origin's session is over.
      void this.#bus.send(m.from, { type: "end", from: this.#nodeId, session: m.session, how: "lost", reason: "unknown session" });
      void this.#bus.send(m.from, { type: "handled", from: this.#nodeId, session: m.session, seq: m.seq });
      return;
    }
    this.#local.handle(session.participantId, m.message).then(
      () => this.#bus.send(m.from, { type: "handled", from: this.#nodeId, session: m.session, seq: m.seq }),
      (e: Error) => this.#bus.send(m.from, { type: "handled", from: this.#nodeId, session: m.session, seq: m.seq, error: e.message }),
    );
  }

  /** The origin stopped or died: its sessions are closed, as their WebSockets would be. */
  originGone(origin: string): void {
    const byKey = this.#sessions.get(origin);
    if (byKey === undefined) return;
    this.#log.warn({ node: origin, sessions: byKey.size }, "a node whose sessions this node runs is gone; they are closed (their participants are held for a resume)");
    for (const session of [...byKey.values()]) this.#close(session);
  }

  /** This node is stopping: every session leaves this node's SFU (as a closed socket), nothing more goes out (the origins are told). */
  stop(): void {
    this.#stopped = true;
    for (const byKey of [...this.#sessions.values()]) for (const session of [...byKey.values()]) this.#close(session);
  }

  #open(origin: string, key: string, room: string, pipe: boolean): void {
    if (this.#stopped) {
      void this.#bus.send(origin, { type: "end", from: this.#nodeId, session: key, how: "lost", reason: "the relay node holding your room is stopping; reconnect" });
      return;
    }
    if (pipe && !this.#acceptsPipe(room)) {
      // Its node read the room's set just before this node left it: nothing here to pipe into.
      void this.#bus.send(origin, { type: "end", from: this.#nodeId, session: key, how: "close", reason: "no participant of this node is in the room any more" });
      return;
    }
    const existing = this.#sessions.get(origin)?.get(key);
    if (existing !== undefined) this.#close(existing); // opened again (moved back here): the old one goes
    const send = (m: NodeMessage) => {
      if (!this.#stopped && this.#sessions.get(origin)?.get(key) === session) void this.#bus.send(origin, m);
    };
    const end = (how: "close" | "kick" | "lost", reason: string) => send({ type: "end", from: this.#nodeId, session: key, how, reason });
    const port: BackendPort = {
      send: (message) => send({ type: "send", from: this.#nodeId, session: key, message }),
      close: (reason) => end("close", reason),
      kick: (reason) => end("kick", reason),
      // Its SFU is gone (a worker died): the origin reconnects the client, and the session is over here.
      lost: (reason) => {
        end("lost", reason);
        this.#close(session);
      },
      bind: (participantId) => (session.participantId = participantId),
      ...(pipe ? { pipe: origin } : {}),
    };
    const session: HostedSession = { origin, key, room, port, participantId: "", pipe };
    const byKey = this.#sessions.get(origin) ?? new Map<string, HostedSession>();
    byKey.set(key, session);
    this.#sessions.set(origin, byKey);
    session.participantId = this.#local.open(port);
    // A pipe comes because this node has participants of its own in the room (spanning-rooms.ts): it
    // neither keeps the room here nor asks the directory (there is no one holder of a spanning room).
    if (pipe) return;
    this.#holds.hold(room);
    // The origin read the directory a moment ago; if the room moved meanwhile (this node released it and
    // another took it), the session must not make a second room of that name here.
    void this.#confirm(room).then((here) => {
      if (here || this.#sessions.get(origin)?.get(key) !== session) return;
      this.#log.warn({ room, origin }, "a session was sent here for a room another node holds now; it reconnects");
      port.lost("the room moved to another relay node; reconnect");
    });
  }

  #close(session: HostedSession): void {
    const byKey = this.#sessions.get(session.origin);
    if (byKey?.get(session.key) !== session) return;
    byKey.delete(session.key);
    if (byKey.size === 0) this.#sessions.delete(session.origin);
    this.#local.closed(session.participantId, session.port);
    if (!session.pipe) this.#holds.unhold(session.room);
  }
}

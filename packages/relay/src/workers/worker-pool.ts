/**
 * The primary's side of `--workers N`: it keeps HTTP and the WebSockets, and forwards each session's
 * messages to the worker process that holds the session's room (worker-main.ts, over ipc-protocol.ts).
 *
 * Placement: a session is placed when its first `join` or `resume` names a room: on the room's worker
 * if the room has one, else on the least-loaded worker (fewest sessions), where the room then stays for
 * as long as it lives (room_started to room_finished, as the worker reports) or has sessions. A session
 * that speaks before naming a room goes to the least-loaded worker (which answers it: not joined), and
 * moves when its join names a room elsewhere; a joined session never moves.
 *
 * A WHIP/WHEP POST is placed by the same rule, and its session counts to its worker's load
 * (worker-whip.ts).
 *
 * A worker that dies takes only its rooms: their sessions are closed as lost (1012: the SDK reconnects,
 * and its resume or rejoin is placed on a live worker), its WHIP/WHEP sessions end, the rooms are
 * forgotten, and a new worker takes the dead one's place and ports.
 */
import type { Logger } from "pino";
import type { ClientMessage } from "@sfu-room/protocol";
import type { RelayConfig } from "../config.ts";
import type { AdminRequest, AdminResult, Grants, KindCounts, RoomEventOutput } from "../core/index.ts";
import type { SelectedPath } from "../rtc/selected-path.ts";
import { roomEvent } from "../core/room-events.ts";
import { newId } from "../sfu-from-config.ts";
import type { MediaCounters } from "../shell/media-counters.ts";
import type { SfuStats } from "../shell/sfu-shell.ts";
import type { PipeChannel, PipeEnd } from "../shell/pipe-from-node.ts";
import type { BackendPort, SignalBackend } from "../signal/session.ts";
import type { SnapshotSum, WorkerProcessNumbers, WorkerSnapshot } from "./ipc-protocol.ts";
import { workerConfig } from "./port-slices.ts";
import { relogWorkerLine } from "./worker-log.ts";
import { WorkerWhip } from "./worker-whip.ts";
import { sumSnapshots } from "./snapshot-sum.ts";
import { type WorkerEvent, WorkerProcess } from "./worker-process.ts";

export interface WorkerPoolOptions {
  config: RelayConfig;
  log: Logger;
  onPathSelected(path: SelectedPath): void;
  onRoomEvent: ((event: RoomEventOutput) => void) | undefined;
}

/** What a session closed because its worker died is told. */
export const WORKER_LOST_REASON = "the relay process holding your room stopped; reconnect";

interface PlacedSession {
  readonly key: string;
  readonly port: BackendPort;
  worker: WorkerProcess | undefined;
  room: string | undefined;
  /** Joined or resumed: it stays on its worker. */
  joined: boolean;
}

/** A pipe from another node into a room of this node's (rooms spanning nodes), run by the room's worker. */
interface PoolPipe {
  readonly key: string;
  readonly worker: WorkerProcess;
  readonly room: string;
  readonly channel: PipeChannel;
}

interface RoomPlace {
  worker: WorkerProcess;
  /** Sessions placed for this room. */
  sessions: number;
  /** Between the worker's room_started and room_finished (participants held for a resume count). */
  live: boolean;
}

export class WorkerPool implements SignalBackend {
  readonly #options: WorkerPoolOptions;
  /** By index: a dead worker's slot gets its replacement. */
  readonly #workers: WorkerProcess[] = [];
  readonly #byKey = new Map<string, PlacedSession>();
  readonly #byPort = new Map<BackendPort, PlacedSession>();
  /** By the participant id each session speaks as (its key, or the participant a resume bound it to). */
  readonly #byId = new Map<string, PlacedSession>();
  readonly #rooms = new Map<string, RoomPlace>();
  /** Pipes from other nodes (rooms spanning nodes), each in its room's worker. */
  readonly #pipes = new Map<string, PoolPipe>();
  /** The last snapshots read (refresh()), summed: what /health and /metrics report. */
  #sum: SnapshotSum | undefined;
  /** Each worker's part of it, by index (undefined: it did not answer). */
  #parts: Array<WorkerSnapshot | undefined> = [];
  #stopped = false;
  /** WHIP and WHEP, routed to the workers: what http/whip.ts calls. */
  readonly whip = new WorkerWhip((room, call) => this.#inRoom(room, call));

  private constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /** Forks the workers; resolves once every one is ready (rejects if one exits before). */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      await Promise.all(Array.from({ length: options.config.workers }, (_, index) => pool.#spawn(index)));
      await pool.refresh();
    } catch (e) {
      await pool.stop();
      throw e;
    }
    return pool;
  }

  // ------------------------------------------------------------------------------------------
  // Sessions (SignalBackend)
  // ------------------------------------------------------------------------------------------

  open(port: BackendPort): string {
    const session: PlacedSession = { key: newId("P"), port, worker: undefined, room: undefined, joined: false };
    this.#byKey.set(session.key, session);
    this.#byPort.set(port, session);
    this.#byId.set(session.key, session);
    return session.key;
  }

  async handle(participantId: string, message: ClientMessage): Promise<void> {
    const session = this.#byId.get(participantId);
    if (session === undefined) return;
    if (!session.joined && (message.type === "join" || message.type === "resume")) this.#place(session, message.room);
    else if (session.worker === undefined || !session.worker.usable) this.#place(session, undefined);
    await session.worker?.handle(session.key, message);
  }

  /**
   * Rooms spanning nodes: the pipe runs in the room's worker (it feeds that worker's core), its channel
   * here: what the worker's pipe says goes out through `channel`, what the other node says goes in.
   */
  openPipe(room: string, origin: string, name: string, channel: PipeChannel): PipeEnd {
    const place = this.#rooms.get(room) ?? { worker: this.#leastLoaded(), sessions: 0, live: false };
    place.sessions++;
    place.worker.load++;
    this.#rooms.set(room, place);
    const pipe: PoolPipe = { key: newId("Q"), worker: place.worker, room, channel };
    this.#pipes.set(pipe.key, pipe);
    pipe.worker.tell({ type: "pipe-open", pipe: pipe.key, room, origin, name });
    return {
      receive: (message) => {
        if (this.#pipes.get(pipe.key) === pipe) pipe.worker.tell({ type: "pipe-receive", pipe: pipe.key, message });
      },
      ended: (reason) => {
        if (this.#dropPipe(pipe)) pipe.worker.tell({ type: "pipe-ended", pipe: pipe.key, reason });
      },
      // The worker's pipe leaves the other node's room first (through this channel), then says `pipe-closed`.
      close: () => {
        if (this.#pipes.get(pipe.key) === pipe) pipe.worker.tell({ type: "pipe-close", pipe: pipe.key });
      },
    };
  }

  /** The node a participant mirrored in `room` is on (its room's worker says), or undefined. */
  async originOf(room: string, participantId: string): Promise<string | undefined> {
    const worker = this.#rooms.get(room)?.worker;
    return worker?.usable ? worker.originOf(participantId) : undefined;
  }

  /** The pipe is over here (true the first time): its worker and room no longer count it. */
  #dropPipe(pipe: PoolPipe): boolean {
    if (this.#pipes.get(pipe.key) !== pipe) return false;
    this.#pipes.delete(pipe.key);
    pipe.worker.load--;
    const place = this.#rooms.get(pipe.room);
    if (place !== undefined && place.worker === pipe.worker) {
      place.sessions--;
      this.#release(pipe.room, place);
    }
    return true;
  }

  /** A pipe's message from its worker, or its end there. */
  #onPipeEvent(worker: WorkerProcess, event: Extract<WorkerEvent, { type: "pipe-send" | "pipe-closed" }>): void {
    const pipe = this.#pipes.get(event.pipe);
    if (event.type === "pipe-closed") {
      if (pipe?.worker === worker && this.#dropPipe(pipe)) pipe.channel.close();
      return;
    }
    if (pipe === undefined || pipe.worker !== worker) {
      worker.tell({ type: "pipe-sent", seq: event.seq, error: "the pipe is closed" });
      return;
    }
    pipe.channel.send(event.message).then(
      () => worker.tell({ type: "pipe-sent", seq: event.seq }),
      (e: Error) => worker.tell({ type: "pipe-sent", seq: event.seq, error: e.message }),
    );
  }

  closed(participantId: string, port: BackendPort): void {
    const session = this.#byPort.get(port);
    if (session === undefined) return;
    this.#detach(session);
    this.#byKey.delete(session.key);
    this.#byPort.delete(port);
    if (this.#byId.get(participantId) === session) this.#byId.delete(participantId);
  }

  // ------------------------------------------------------------------------------------------
  // Health, metrics, server API
  // ------------------------------------------------------------------------------------------

  /** Reads every live worker's snapshot (a worker that does not answer counts as empty). */
  async refresh(): Promise<void> {
    this.#parts = await Promise.all(this.#workers.map((w) => (w.usable ? w.snapshot() : undefined)));
    const snapshots = this.#parts.filter((s) => s !== undefined);
    const shape = this.#sum ?? snapshots[0];
    if (shape !== undefined) this.#sum = sumSnapshots(shape, snapshots);
  }

  /** As of the last refresh(). */
  stats(): SfuStats {
    return this.#sum!.stats;
  }

  media(): MediaCounters {
    return this.#sum!.media;
  }

  kindCounts(): KindCounts {
    return this.#sum!.kindCounts;
  }

  connectionStates(): Map<string, number> {
    return new Map(this.#sum!.connectionStates);
  }

  /** Each worker's own process (CPU, memory, event loop), of those that answered the last refresh(). */
  workerProcesses(): Array<{ index: number } & WorkerProcessNumbers> {
    return this.#parts.flatMap((part, index) => (part === undefined ? [] : [{ index, ...part.process }]));
  }

  /** Each worker's process, state and load, for /health. */
  healthDetail(): Record<string, unknown> {
    return {
      workers: this.#workers.map((w, index) => {
        const part = this.#parts[index];
        return { index, pid: w.pid, ready: w.usable, rooms: part?.stats.rooms ?? 0, participants: part?.stats.participants ?? 0 };
      }),
    };
  }

  /** A call about a room goes to its worker; ListRooms to every worker, and the rooms are put together. */
  async admin(grants: Grants, request: AdminRequest): Promise<AdminResult> {
    const gone: AdminResult = { ok: false, code: "unknown-room", message: "the relay process holding the room stopped; its participants are rejoining" };
    if (request.method !== "ListRooms") {
      const worker = this.#rooms.get(request.room)?.worker ?? this.#leastLoaded();
      return (await worker.admin(grants, request)) ?? gone;
    }
    const results = await Promise.all(this.#workers.filter((w) => w.usable).map((w) => w.admin(grants, request)));
    const rooms = [];
    for (const result of results) {
      if (result === undefined) continue;
      if (!result.ok || !("rooms" in result.body)) return result; // a refusal (forbidden) is every worker's
      rooms.push(...result.body.rooms);
    }
    return { ok: true, body: { rooms } };
  }

  /** Stops every worker (each removes its participants first). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers.map((w) => w.stop()));
  }

  // ------------------------------------------------------------------------------------------
  // Placement
  // ------------------------------------------------------------------------------------------

  /** Puts the session on `room`'s worker (or, no room, the least-loaded one), moving it off another. */
  #place(session: PlacedSession, room: string | undefined): void {
    const target = (room !== undefined ? this.#rooms.get(room)?.worker : session.worker?.usable ? session.worker : undefined) ?? this.#leastLoaded();
    if (session.worker === target && session.room === room) return;
    this.#detach(session);
    session.worker = target;
    session.room = room;
    target.load++;
    if (room !== undefined) {
      const place = this.#rooms.get(room) ?? { worker: target, sessions: 0, live: false };
      place.sessions++;
      this.#rooms.set(room, place);
    }
    target.open(session.key, session.port.pipe);
  }

  /**
   * Runs a WHIP/WHEP POST on `room`'s worker, or where a new room is placed; meanwhile the room is held
   * there (a join or another POST finds it), and after it the room stays while it lives (room_started).
   */
  async #inRoom<T>(room: string, call: (worker: WorkerProcess) => Promise<T>): Promise<T> {
    const place = this.#rooms.get(room) ?? { worker: this.#leastLoaded(), sessions: 0, live: false };
    place.sessions++;
    place.worker.load++;
    this.#rooms.set(room, place);
    try {
      return await call(place.worker);
    } finally {
      place.sessions--;
      place.worker.load--;
      if (this.#rooms.get(room) === place) this.#release(room, place);
    }
  }

  /** Takes the session off its worker (which forgets it) and its room. */
  #detach(session: PlacedSession): void {
    const worker = session.worker;
    if (worker === undefined) return;
    worker.load--;
    worker.closed(session.key);
    if (session.room !== undefined) {
      const place = this.#rooms.get(session.room);
      if (place !== undefined && place.worker === worker) {
        place.sessions--;
        this.#release(session.room, place);
      }
    }
    session.worker = undefined;
    session.room = undefined;
  }

  #release(room: string, place: RoomPlace): void {
    if (place.sessions <= 0 && !place.live) this.#rooms.delete(room);
  }

  #leastLoaded(): WorkerProcess {
    let best: WorkerProcess | undefined;
    for (const w of this.#workers) if (w.usable && (best === undefined || w.load < best.load)) best = w;
    // Every worker restarting at once (all died together): the first slot's replacement queues the messages.
    return best ?? this.#workers[0]!;
  }

  // ------------------------------------------------------------------------------------------
  // Workers
  // ------------------------------------------------------------------------------------------

  #spawn(index: number): Promise<void> {
    const { config, log } = this.#options;
    return new Promise((resolve, reject) => {
      const worker: WorkerProcess = new WorkerProcess(
        index, workerConfig(config, index), log.level,
        (event) => this.#onEvent(worker, event),
        (wasReady) => {
          if (!wasReady) reject(new Error(`worker ${index} exited before it was ready (see its log above)`));
          else this.#onDeath(worker);
        },
        () => resolve(),
      );
      this.#workers[index] = worker;
    });
  }

  #onEvent(worker: WorkerProcess, event: WorkerEvent): void {
    if (event.type === "log") {
      relogWorkerLine(this.#options.log, event.line);
      return;
    }
    if (event.type === "path-selected") {
      this.#options.onPathSelected(event.path);
      return;
    }
    if (event.type === "room-event") {
      // A dead worker's last messages can arrive after its exit: its rooms were ended for it (#onDeath).
      if (this.#workers[worker.index] === worker) this.#roomEvent(worker, event.event);
      return;
    }
    if (event.type === "whip-ended") {
      this.whip.ended(worker, event.resourceId);
      return;
    }
    if (event.type === "pipe-send" || event.type === "pipe-closed") {
      this.#onPipeEvent(worker, event);
      return;
    }
    const session = this.#byKey.get(event.session);
    if (session === undefined || session.worker !== worker) return;
    switch (event.type) {
      case "send":
        if (event.message.type === "joined" || event.message.type === "resumed") session.joined = true;
        session.port.send(event.message);
        break;
      case "end":
        if (event.how === "kick") session.port.kick(event.reason);
        else session.port.close(event.reason);
        break;
      case "bound":
        if (this.#byId.get(session.key) === session) this.#byId.delete(session.key);
        this.#byId.set(event.participantId, session);
        session.port.bind(event.participantId);
        break;
    }
  }

  #roomEvent(worker: WorkerProcess, event: RoomEventOutput): void {
    if (event.event === "room_started") {
      const place = this.#rooms.get(event.room) ?? { worker, sessions: 0, live: false };
      place.live = true;
      this.#rooms.set(event.room, place);
    } else if (event.event === "room_finished") {
      const place = this.#rooms.get(event.room);
      if (place !== undefined && place.worker === worker) {
        place.live = false;
        this.#release(event.room, place);
      }
    }
    this.#options.onRoomEvent?.(event);
  }

  /** Only the dead worker's rooms go: their sessions are told to reconnect, and a new worker takes its place. */
  #onDeath(worker: WorkerProcess): void {
    if (this.#stopped) return;
    const rooms = [...this.#rooms].filter(([, place]) => place.worker === worker).map(([room, place]) => [room, place.live] as const);
    this.#options.log.error({ worker: worker.index, workerPid: worker.pid, rooms: rooms.length }, "a worker died; its sessions are closed and it is restarted");
    for (const [room] of rooms) this.#rooms.delete(room);
    // Those that had started ended with their worker: said as the worker would have (webhooks, the cluster's directory).
    for (const [room, live] of rooms) if (live) this.#options.onRoomEvent?.(roomEvent("room_finished", room));
    for (const session of this.#byKey.values()) {
      if (session.worker !== worker) continue;
      session.worker = undefined;
      session.room = undefined;
      session.port.lost(WORKER_LOST_REASON);
    }
    this.whip.died(worker);
    // Its pipes ended with it: their sessions on the other nodes close, and the cluster opens them again.
    for (const pipe of [...this.#pipes.values()]) if (pipe.worker === worker && this.#dropPipe(pipe)) pipe.channel.close();
    worker.load = 0;
    this.#spawn(worker.index).catch((e: Error) => this.#options.log.error({ err: e, worker: worker.index }, "a worker could not be restarted"));
  }
}

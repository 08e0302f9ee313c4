/**
 * The messages between the primary process (HTTP, WebSockets: worker-pool.ts) and a worker process (one
 * SfuShell: worker-main.ts), sent over the node:child_process IPC channel as JSON. A session is named
 * by the key the primary minted when its WebSocket opened; the worker uses that key as the participant
 * id it first speaks as, and reports a resume that binds the session to another participant (`bound`).
 * One channel per worker keeps order: every `send` a message caused arrives before its `handled`.
 */
import type { ClientMessage, ServerMessage } from "@sfu-room/protocol";
import type { RelayConfig } from "../config.ts";
import type { AdminRequest, AdminResult, Grants, KindCounts, RoomEventOutput } from "../core/index.ts";
import type { SelectedPath } from "../rtc/selected-path.ts";
import type { MediaCounters } from "../shell/media-counters.ts";
import type { WhipCall } from "./whip-calls.ts";
import type { SfuStats } from "../shell/sfu-shell.ts";

/** A worker's own process: /metrics reports it per worker (process_* and nodejs_* are the primary's). */
export interface WorkerProcessNumbers {
  /** User and system CPU since the worker started. */
  cpuSeconds: number;
  residentBytes: number;
  /** The 99th percentile of its event loop's delay since the previous snapshot: the forwarding thread's saturation. */
  eventLoopDelayP99Seconds: number;
}

/** What a worker reports for /health and /metrics (the primary adds up all but `process`). */
export interface WorkerSnapshot {
  stats: SfuStats;
  media: MediaCounters;
  kindCounts: KindCounts;
  connectionStates: Array<[state: string, count: number]>;
  process: WorkerProcessNumbers;
}

/** The workers' snapshots added up (snapshot-sum.ts): a process's numbers do not add up. */
export type SnapshotSum = Omit<WorkerSnapshot, "process">;

export type ToWorker =
  /** The first message: this worker's configuration (its own slice of the port ranges) and log level. */
  | { type: "start"; index: number; config: RelayConfig; logLevel: string }
  /** `pipe`: another node's pipe into this node's room (its id; --cluster-rooms span). */
  | { type: "open"; session: string; pipe?: string }
  /** A validated client message; answered by `handled` with the same `seq`. */
  | { type: "message"; session: string; seq: number; message: ClientMessage }
  /** The session's WebSocket closed. */
  | { type: "closed"; session: string }
  | { type: "snapshot"; seq: number }
  | { type: "admin"; seq: number; grants: Grants; request: AdminRequest }
  /** A WHIP/WHEP request's call on this worker's sessions (whip-calls.ts); answered by `whip-reply`. */
  | { type: "whip"; seq: number; call: WhipCall }
  /**
   * Rooms spanning nodes: this node's pipe from node `origin` into `room` runs in this worker (the
   * room's); its signaling goes through the primary (`pipe-send`, answered `pipe-sent`), and what the
   * other node says comes back as `pipe-receive`. `pipe-ended`: the other side ended it; `pipe-close`:
   * the cluster closes it.
   */
  | { type: "pipe-open"; pipe: string; room: string; origin: string; name: string }
  | { type: "pipe-receive"; pipe: string; message: ServerMessage }
  | { type: "pipe-sent"; seq: number; error?: string }
  | { type: "pipe-ended"; pipe: string; reason: string }
  | { type: "pipe-close"; pipe: string }
  /** The node a participant mirrored here is on (a resume of theirs through this node goes there); answered by `origin`. */
  | { type: "origin-of"; seq: number; participantId: string }
  /** Stop: every participant removed, then the process exits. */
  | { type: "stop" };

export type FromWorker =
  | { type: "ready" }
  | { type: "send"; session: string; message: ServerMessage }
  /** The shell ended the session: `close` (the client may come back) or `kick` (it must not). */
  | { type: "end"; session: string; how: "close" | "kick"; reason: string }
  /** A resume made the session speak as this participant. */
  | { type: "bound"; session: string; participantId: string }
  /** `error`: handling threw (a relay bug), and the primary's session answers `internal` as it would in one process. */
  | { type: "handled"; seq: number; error?: string }
  | { type: "snapshot"; seq: number; snapshot: WorkerSnapshot }
  | { type: "admin-reply"; seq: number; result: AdminResult }
  /** `result`: the call's (absent for undefined); `error`: it threw (a relay bug: the request answers 500, as in one process). */
  | { type: "whip-reply"; seq: number; result?: unknown; error?: string }
  /** A WHIP/WHEP session ended without a DELETE (its connection failed, the server API removed it). */
  | { type: "whip-ended"; resourceId: string }
  | { type: "room-event"; event: RoomEventOutput }
  | { type: "path-selected"; path: SelectedPath }
  /** One log line of the worker's, as pino wrote it (JSON): the primary logs it (worker-log.ts). */
  | { type: "log"; line: string }
  /** A pipe's message to the other node's room; answered by `pipe-sent` with the same `seq`. */
  | { type: "pipe-send"; pipe: string; seq: number; message: ClientMessage }
  /** The pipe ended here (its shell closed it): the primary closes its session on the other node. */
  | { type: "pipe-closed"; pipe: string }
  | { type: "origin"; seq: number; origin?: string }
  /** The last message of a stopped worker: everything before it has been written to the channel. */
  | { type: "stopped" };

/**
 * One worker process as the primary holds it: forks worker-main, hands it its configuration, and pairs
 * requests (`message`, `snapshot`, `admin`) with their replies. When the process is gone every request
 * still waiting is settled (with undefined), so no session or HTTP request waits for a dead worker.
 */
import { type ChildProcess, fork } from "node:child_process";
import type { ClientMessage } from "@sfu-room/protocol";
import type { RelayConfig } from "../config.ts";
import type { AdminRequest, AdminResult, Grants } from "../core/index.ts";
import type { FromWorker, ToWorker, WorkerSnapshot } from "./ipc-protocol.ts";
import type { WhipCall, WhipCallResult } from "./whip-calls.ts";
import { V8_FLAGS } from "../v8-flags.ts";

/** Run as TypeScript from the sources (Node's type stripping), or the bundled dist/worker.js (scripts/build.mjs). */
const ENTRY = import.meta.url.endsWith(".ts") ? new URL("./worker-main.ts", import.meta.url) : new URL("./worker.js", import.meta.url);

/** Replies that did not come in this long are given up on (a stuck worker must not hang /health). */
const REPLY_TIMEOUT_MS = 5000;

/** What a worker reports unasked. */
export type WorkerEvent = Exclude<FromWorker, { type: "handled" | "snapshot" | "admin-reply" | "whip-reply" | "origin" | "ready" | "stopped" }>;

export class WorkerProcess {
  readonly index: number;
  /** Sessions placed on this worker (the placement's measure of load). */
  load = 0;
  #ready = false;
  #alive = true;
  /** Stopped on purpose: its exit is no death. */
  #stopping = false;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: unknown) => void>();
  #seq = 0;
  readonly exited: Promise<void>;

  /** `onEvent`: what the worker reports unasked; `onDeath`: it exited without being stopped (`wasReady`: after it started). */
  constructor(index: number, config: RelayConfig, logLevel: string, onEvent: (event: WorkerEvent) => void, onDeath: (wasReady: boolean) => void, onReady: () => void) {
    this.index = index;
    // None of this process's execArgv (a test runner's loaders, --inspect): the worker is plain Node
    // running the sources, with the relay's V8 flags.
    this.#child = fork(ENTRY, [], { execArgv: [...V8_FLAGS], serialization: "json" });
    this.#child.on("message", (raw) => {
      const message = raw as FromWorker;
      switch (message.type) {
        case "ready":
          this.#ready = true;
          onReady();
          break;
        case "handled":
          this.#settle(message.seq, message.error === undefined ? undefined : new Error(`worker ${index}: ${message.error}`));
          break;
        case "snapshot":
          this.#settle(message.seq, message.snapshot);
          break;
        case "admin-reply":
          this.#settle(message.seq, message.result);
          break;
        case "whip-reply":
          this.#settle(message.seq, message);
          break;
        case "origin":
          this.#settle(message.seq, message.origin);
          break;
        case "stopped":
          break; // its exit follows; `exited` waits for the channel to close too, after this message

        default:
          onEvent(message);
      }
    });
    // Exited, and its channel closed: every message it sent before (its last log lines) has been read.
    const exit = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    const disconnect = new Promise<void>((resolve) => this.#child.once("disconnect", () => resolve()));
    this.exited = Promise.all([exit, disconnect]).then(() => {});
    this.#child.once("exit", () => {
      this.#alive = false;
      for (const settle of this.#waiting.values()) settle(undefined);
      this.#waiting.clear();
      if (!this.#stopping) onDeath(this.#ready);
    });
    this.#child.on("error", () => {}); // a send to a process that just died: its exit handles the rest
    this.#send({ type: "start", index, config, logLevel });
  }

  /** Started, and not gone: sessions may be placed on it. */
  get usable(): boolean {
    return this.#ready && this.#alive && !this.#stopping;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  open(session: string, pipe?: string): void {
    this.#send(pipe === undefined ? { type: "open", session } : { type: "open", session, pipe });
  }

  /** The node a participant mirrored in this worker is on; undefined: not a mirror here, or the worker is gone. */
  originOf(participantId: string): Promise<string | undefined> {
    return this.#request((seq) => ({ type: "origin-of", seq, participantId }), REPLY_TIMEOUT_MS) as Promise<string | undefined>;
  }

  /** A message about one of its pipes (rooms spanning nodes): nothing is waited for. */
  tell(message: Extract<ToWorker, { type: "pipe-open" | "pipe-receive" | "pipe-sent" | "pipe-ended" | "pipe-close" }>): void {
    this.#send(message);
  }

  closed(session: string): void {
    this.#send({ type: "closed", session });
  }

  /** Resolves once the worker has handled the message (or is gone); rejects with the error its handling threw. */
  async handle(session: string, message: ClientMessage): Promise<void> {
    const failure = await this.#request((seq) => ({ type: "message", session, seq, message }), Infinity);
    if (failure instanceof Error) throw failure;
  }

  /** Undefined: the worker is gone or did not answer in time. */
  snapshot(): Promise<WorkerSnapshot | undefined> {
    return this.#request((seq) => ({ type: "snapshot", seq }), REPLY_TIMEOUT_MS) as Promise<WorkerSnapshot | undefined>;
  }

  admin(grants: Grants, request: AdminRequest): Promise<AdminResult | undefined> {
    return this.#request((seq) => ({ type: "admin", seq, grants, request }), REPLY_TIMEOUT_MS) as Promise<AdminResult | undefined>;
  }

  /**
   * Runs a WHIP/WHEP call on the worker's sessions: its result, wrapped (a result may be undefined);
   * undefined: the worker is gone. Rejects with the error the call threw. No timeout, as for `handle`:
   * an answer takes as long as werift takes, and a dead worker settles it.
   */
  async whip<C extends WhipCall>(call: C): Promise<{ result: WhipCallResult<C> } | undefined> {
    const reply = (await this.#request((seq) => ({ type: "whip", seq, call }), Infinity)) as Extract<FromWorker, { type: "whip-reply" }> | undefined;
    if (reply === undefined) return undefined;
    if (reply.error !== undefined) throw new Error(`worker ${this.index}: ${reply.error}`);
    return { result: reply.result as WhipCallResult<C> };
  }

  /** Every participant removed, then the process exits (killed if it has not within the reply timeout). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#alive) this.#send({ type: "stop" });
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), REPLY_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  #request(message: (seq: number) => ToWorker, timeoutMs: number): Promise<unknown> {
    if (!this.#alive) return Promise.resolve(undefined);
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const timer = timeoutMs === Infinity ? undefined : setTimeout(() => this.#settle(seq, undefined), timeoutMs);
      this.#waiting.set(seq, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.#send(message(seq));
    });
  }

  #settle(seq: number, reply: unknown): void {
    const settle = this.#waiting.get(seq);
    this.#waiting.delete(seq);
    settle?.(reply);
  }

  #send(message: ToWorker): void {
    if (this.#alive && this.#child.connected) this.#child.send(message);
  }
}

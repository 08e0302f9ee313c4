/**
 * One benchmark run's shared parts, owned by one object: the plan, where raw logs go, the progress
 * line, the load-generator processes and the servers started for each scenario. The scenarios
 * (bench/scenarios/*.ts) get it as their first argument.
 */
import { createJanusRoom } from "./janus-api.ts";
import { protocolOf, type ServerKind, type Target } from "./peers.ts";
import type { Plan } from "./plan.ts";
import type { ProcSample } from "./proc.ts";
import type { Progress } from "./progress.ts";
import { type ServerUnderTest, startServer } from "./servers.ts";
import { WorkerHandle } from "./workers.ts";
import type { WorkerRequest } from "./worker.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `total` split into `parts` near-equal whole shares (the first ones one larger). */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Something a measurement window drives as it drives a load-generator process (the ops pause, resume, window-start, snapshot). */
export interface LoadSource {
  readonly name: string;
  readonly pid: number;
  call<T = unknown>(req: WorkerRequest): Promise<T>;
}

export interface BenchOptions {
  plan: Plan;
  root: string;
  rawDir: string;
  progress: Progress;
  /** The address Janus and its clients use (a veth address of the bench's namespace). */
  janusAddress: string;
}

export class Bench {
  readonly plan: Plan;
  readonly root: string;
  readonly rawDir: string;
  readonly progress: Progress;
  private readonly janusAddress: string;
  /** [0] holds publishers and the latency probe, the rest subscribers. */
  private readonly workers: WorkerHandle[] = [];
  private rooms = 0;
  private readonly sources = new Set<LoadSource>();

  constructor(o: BenchOptions) {
    this.plan = o.plan;
    this.root = o.root;
    this.rawDir = o.rawDir;
    this.progress = o.progress;
    this.janusAddress = o.janusAddress;
  }

  async startWorkers(): Promise<void> {
    this.workers.push(new WorkerHandle("pub", this.root, this.rawDir));
    for (let i = 1; i <= this.plan.generators; i++) this.workers.push(new WorkerHandle(`gen${i}`, this.root, this.rawDir));
    await Promise.all(this.workers.map((w) => w.ready));
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  get allWorkers(): readonly WorkerHandle[] {
    return this.workers;
  }

  /** What a measurement window pauses, resumes and counts (window.ts): the workers, and any added source. */
  get windowSources(): readonly LoadSource[] {
    return [...this.workers, ...this.sources];
  }

  /** Counts `source` (a browser publisher) in the windows until removed. */
  addSource(source: LoadSource): void {
    this.sources.add(source);
  }

  removeSource(source: LoadSource): void {
    this.sources.delete(source);
  }

  get pubWorker(): WorkerHandle {
    return this.workers[0]!;
  }

  get genWorkers(): readonly WorkerHandle[] {
    return this.workers.slice(1);
  }

  /** A fresh room on `server` (Janus needs it created, sized for `publishers`). */
  async newRoom(server: ServerUnderTest, publishers: number): Promise<string> {
    this.rooms++;
    if (protocolOf(server.kind) === "relay") return `bench-${this.rooms}`;
    const room = 100_000 + Math.floor(Math.random() * 1_000_000_000);
    await createJanusRoom(server.url, room, Math.max(publishers, 1));
    return String(room);
  }

  /** Where clients reach `server`; `entry`: which of its ways in (the nodes of relay-2n), by index, wrapping. */
  targetOf(server: ServerUnderTest, entry = 0): Target {
    const url = server.entryUrls[entry % server.entryUrls.length]!;
    return { server: protocolOf(server.kind), url, ...(server.kind === "janus" ? { clientAddress: this.janusAddress } : {}) };
  }

  /** Every participant of every load generator leaves. */
  async closeAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call({ op: "close-all" }).catch(() => undefined)));
  }

  /**
   * Starts a server of `kind`, lets it settle, samples it idle, runs `f`, and stops it (after every
   * participant left) whatever happens.
   */
  async withServer<T>(
    kind: ServerKind,
    label: string,
    f: (s: ServerUnderTest, idle: ProcSample, idleHeap: { heapUsedMb: number } | undefined) => Promise<T>,
    cpuProfDir?: string,
  ): Promise<T> {
    this.progress.set({ server: kind, step: "", phase: "starting server" });
    const server = await startServer(kind, { rawDir: this.rawDir, root: this.root, janusIceAddress: this.janusAddress, ...(cpuProfDir ? { cpuProfDir } : {}) }, label);
    try {
      await sleep(this.plan.settleMs);
      const idleHeap = await server.heapAfterGc();
      const idle = server.sample();
      return await f(server, idle, idleHeap);
    } finally {
      this.progress.set({ phase: "closing clients" });
      await this.closeAll();
      this.progress.set({ phase: "stopping server" });
      await server.stop();
      await sleep(this.plan.settleMs / 3);
    }
  }
}

/** The harness's side of the load-generator processes (bench/lib/worker.ts). */
import { type ChildProcess, fork } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import type { WorkerRequest } from "./worker.ts";

export class WorkerHandle {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;

  constructor(readonly name: string, root: string, logDir: string) {
    const log = openSync(join(logDir, `worker-${name}.log`), "a");
    this.child = fork(join(root, "bench", "lib", "worker.ts"), [], {
      cwd: root,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", log, log, "ipc"],
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.once("exit", (code) => reject(new Error(`worker ${name} exited (${code})`)));
      this.child.on("message", (m: { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string }) => {
        if (m.ready) resolve();
        if (m.id === undefined) return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(`${name}: ${m.error}`));
      });
    });
    this.child.on("exit", () => {
      for (const p of this.pending.values()) p.reject(new Error(`worker ${name} exited`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T = unknown>(req: WorkerRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, req });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

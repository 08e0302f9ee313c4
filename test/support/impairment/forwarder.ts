/**
 * A userspace impairment forwarder (this kernel has no netem; shared notes/testing.md): UDP routes
 * from a listening address to a target, and per client address an access link, an uplink and a
 * downlink, each with a rate cap and a drop-tail queue, random loss, delay and jitter (link.ts),
 * changeable while media flows. A browser whose only way to the relay (or to another browser) is a
 * route of the forwarder sends and receives all its media through its link.
 *
 * The datagrams are carried by a worker thread (forwarder-worker.ts); this is its API.
 */
import { Worker } from "node:worker_threads";
import type { LinkConditions } from "./link.ts";
import type { Endpoint, LinkReport, Request } from "./forwarder-worker.ts";

export type { LinkConditions } from "./link.ts";
export type { Endpoint, LinkReport } from "./forwarder-worker.ts";

export interface Forwarder {
  /**
   * Relays datagrams arriving at `listen` to `target`, and the target's answers back to each sender.
   * Resolves with the port it listens on (for `listen.port` 0, one the system chose).
   */
  route(listen: Endpoint, target: Endpoint): Promise<number>;
  /**
   * The conditions of one direction of the link of `key` ("ip" or "ip:port"): "up" for what it sends,
   * "down" for what it receives. Clean (no key set) until set; set({}) makes it clean again.
   */
  set(key: string, direction: "up" | "down", conditions: LinkConditions): Promise<void>;
  /** What each link has carried and dropped so far, with its conditions now. */
  counters(): Promise<LinkReport>;
  close(): Promise<void>;
}

export async function startForwarder(): Promise<Forwarder> {
  const worker = new Worker(new URL("./forwarder-worker.ts", import.meta.url));
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.on("message", ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(id)!;
    pending.delete(id);
    if (error) p.reject(new Error(`impairment forwarder: ${error}`));
    else p.resolve(result);
  });
  worker.on("error", (e) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  const ask = <T>(request: Request) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, request });
    });
  return {
    route: (listen, target) => ask<number>({ op: "route", listen, target }),
    set: (key, direction, conditions) => ask({ op: "set", key, direction, conditions }),
    counters: () => ask<LinkReport>({ op: "counters" }),
    async close() {
      await ask({ op: "close" });
      await worker.terminate();
    },
  };
}

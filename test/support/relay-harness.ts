/** Starts a real relay in-process on 127.0.0.1 with a free port, and makes clients for it. */
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, type RelayConfig, startRelay, type RunningRelay } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";

export async function startTestRelay(overrides: Partial<RelayConfig> = {}): Promise<RunningRelay> {
  // One in-process SFU unless a test asks for workers (the default is one per core): these tests read
  // relay.stats() as it is now and count the sockets, ports and timers of this one process (no-leaks,
  // media-ports); placing rooms on workers is workers.test's, and the e2e suites run the default.
  const config: RelayConfig = { ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, workers: 1, ...overrides };
  return startRelay(config, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
}

/**
 * The relay's two send paths for forwarded media (docs/configuration.md, --native-send): the native
 * accelerator ("on": the relay refuses to start without it, so a test of it cannot silently run the
 * other) and the JavaScript path. Tests of what leaves toward subscribers run on both.
 */
export const SEND_PATHS = [
  ["native", { nativeSend: "on" }],
  ["javascript", { nativeSend: "off" }],
] as const satisfies ReadonlyArray<readonly [string, Partial<RelayConfig>]>;

/**
 * Config overrides for a relay that keeps a dropped participant this long for a resume (0: drops are
 * leaves, as tests about other things expect).
 */
export function resumeWindow(ms: number): Partial<RelayConfig> {
  return { core: { ...DEFAULT_RELAY_CONFIG.core, resumeWindowMs: ms } };
}

export async function joinClient(relay: RunningRelay, room: string, name: string, log: SentLog, autoSubscribe = true, token?: string): Promise<WeriftClient> {
  const client = new WeriftClient({ name, log });
  await client.connect(relay.signalUrl);
  await client.join(room, autoSubscribe, token);
  return client;
}

/** Polls until `check` returns true, or throws with `what` after timeoutMs (a liveness limit). */
export async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What each client has received so far on each of its tracks, by track: `grewBy` then tells whether
 * every one of them has grown. Kept by track, not by position: a track that arrives after the count
 * moves the others' positions in `received`.
 */
export function packetCounts(...clients: ReadonlyArray<Pick<WeriftClient, "received">>): Map<{ readonly packets: number }, number> {
  return new Map(clients.flatMap((c) => [...c.received.values()].map((r) => [r, r.packets] as const)));
}

/** Whether every track counted in `before` (packetCounts) has received more than `packets` packets since. */
export function grewBy(before: ReadonlyMap<{ readonly packets: number }, number>, packets: number): boolean {
  return [...before].every(([track, counted]) => track.packets > counted + packets);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server API call (docs/api.md) with a bearer token: its status and JSON body. */
export async function callApi(relay: Pick<RunningRelay, "port">, method: string, body: unknown, bearer: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${relay.port}/api/${method}`, { method: "POST", headers: { authorization: `Bearer ${bearer}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Counts of live handles of the process (UDP sockets, timers, TCP), for leak checks. */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

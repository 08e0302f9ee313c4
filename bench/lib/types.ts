/** What a benchmark run produces (the JSON file under bench/results/). */
import type { ServerKind } from "./peers.ts";

/** One measured step of a streaming scenario (fanout, meeting, latency). */
export interface LoadStep {
  server: ServerKind;
  /** Fanout/latency: subscribers; meeting: participants. */
  n: number;
  /** Connections the server holds participants for (fanout: N + 1 publisher). */
  participants: number;
  /** Latency scenario: the share of the fanout capacity this N is. */
  capacityShare?: number;
  connectFailed: number;
  errors: string[];
  windowS: number;
  /** Packets/s sent by all publishers together (audio + video). */
  sentPps: number;
  expected: number;
  delivered: number;
  deliveredPps: number;
  deliveryPct: number;
  /** Server CPU (user + system, all threads) as % of one core. */
  serverCpuPct: number;
  /** Server CPU microseconds per delivered (forwarded) packet. */
  cpuUsPerPacket: number;
  rssMb: number;
  /** (RSS now - RSS of the idle server at scenario start) / participants. */
  rssPerParticipantKb: number;
  /** Relay only: V8 heap in use after a full GC at the end of the window, and its growth per participant. */
  heapAfterGcMb?: number;
  heapPerParticipantKb?: number;
  /** Relay only: event-loop delay beyond the 10 ms sampling interval. */
  eldP99Ms?: number;
  eldMaxMs?: number;
  /** One-way delay publisher -> server -> probe subscriber (same process, same clock). */
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  latencySamples?: number;
  /** Whole machine (all processes, including other users'), % of all cores. */
  machineBusyPct: number;
  /** The server and the load generators together, % of all cores. */
  benchBusyPct: number;
  /** Busiest load-generator process, % of one core. */
  generatorCpuPct: number;
  /** Datagrams dropped for a full receive buffer during the window: server sockets / generator sockets. */
  udpDropsServer: number;
  udpDropsClients: number;
  /** Packets that arrived twice at a subscriber (retransmissions); not counted as delivered. */
  duplicates: number;
  /** Packets still arrived 5 s after the publishers paused (a server working through a backlog). */
  backlog?: boolean;
  /** Why stepping stopped after this step, if it did. */
  stop?: string;
  /** Measured twice: the first window would have stopped the stepping but other users loaded the machine. */
  retried?: string;
}

export interface StormStep {
  server: ServerKind;
  n: number;
  connected: number;
  failed: number;
  errors: string[];
  firstMediaMedianMs: number;
  firstMediaP95Ms: number;
  firstMediaMaxMs: number;
  firstVideoMedianMs: number;
  firstVideoP95Ms: number;
  /** Server CPU seconds from the start of the storm until every joiner had media or failed. */
  serverCpuS: number;
  stormS: number;
  rssMb: number;
  rssPerParticipantKb: number;
  eldP99Ms?: number;
  machineBusyPct: number;
  stop?: string;
}

export interface ProfileEntry {
  selfMs: number;
  selfPct: number;
  functionName: string;
  location: string;
}

export interface RunResult {
  meta: {
    date: string;
    quick: boolean;
    commit: string;
    dirtyFiles: number;
    node: string;
    janus: string | undefined;
    cpus: number;
    cpuModel: string;
    loadAverageAtStart: number[];
    fixture: string[];
    windowS: number;
    warmupS: number;
    durationS: number;
    notes: string[];
    /** How the relay protected and sent forwarded media (its --native-send; the CPU targets depend on it). */
    relaySendPath?: "native" | "javascript";
  };
  /** One-way delay of werift alone (a sender and a receiver connection in one process, no server). */
  baselineLatency?: { p50Ms: number; p99Ms: number; samples: number };
  fanout: LoadStep[];
  meeting: LoadStep[];
  joinStorm: StormStep[];
  latency: LoadStep[];
  /** Fanout from a Chromium publisher (scenarios/browser.ts), per server. */
  browser: BrowserRun[];
  /** Largest fanout N with >= 99% delivery, latency p99 within the bound and no saturation, per server (scenarios/fanout.ts). */
  capacity: Partial<Record<ServerKind, { n: number; limitedBy: string }>>;
  /** Per N both servers ran; `bothDelivered`: both delivered >= 99% there. */
  ratios: Array<{ scenario: string; n: number; relayUsPerPacket: number; janusUsPerPacket: number; ratio: number; bothDelivered: boolean }>;
  overallRatios: Array<{ scenario: string; ratio: number; ns: number[]; basis: string }>;
  /** The relay's scale-out variants against the relay in one process (lib/ratios.ts). */
  scale: ScaleRatio[];
  targets: Array<{ target: string; value: string; pass: boolean | undefined }>;
  profile?: { file: string; n: number; totalMs: number; top: ProfileEntry[] };
}

/** Fanout from a Chromium publisher on one server: its steps, and what Chromium negotiated and sent. */
export interface BrowserRun {
  server: ServerKind;
  steps: LoadStep[];
  /** The SRTP profile of Chromium's publisher connection (getStats: transport srtpCipher). */
  srtpCipher: string;
  /** The video frame size Chromium sent at the end, WxH. */
  frame: string;
}

/** A scale-out variant of the relay against the relay in one process, from one run. */
export interface ScaleRatio {
  variant: "relay-2w" | "relay-2n" | "relay-2s";
  scenario: "fanout" | "meeting";
  /** variant/relay CPU per forwarded packet (all processes of each), overall over `ns`. */
  cpuRatio: number;
  ns: number[];
  basis: string;
  /** Fanout capacity of each (scenarios/fanout.ts) and variant/relay. */
  capacity?: { variant: number; relay: number; ratio: number };
}

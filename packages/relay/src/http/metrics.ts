/**
 * The relay's Prometheus metrics, served at GET /metrics. Gauges and most counters are read from the
 * shell when Prometheus scrapes (the core's stats, the shell's hot-path counters: nothing is counted
 * twice, and nothing costs a metrics call per packet); joins and selected paths are fed as they happen.
 * Each relay has its own registry, so several relays in one process (tests) do not share numbers.
 * No label carries a participant or track id: labels are small fixed sets (kind, direction, state...).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { pathType, type SelectedPath } from "../rtc/selected-path.ts";
import type { KindCounts } from "../core/index.ts";
import type { MediaCounters } from "../shell/media-counters.ts";
import type { SfuStats } from "../shell/sfu-shell.ts";
import type { WorkerProcessNumbers } from "../workers/ipc-protocol.ts";

export type RelayStats = SfuStats & { sessions: number };

/** What the metrics read at scrape time. */
export interface MetricSources {
  stats(): RelayStats;
  media(): MediaCounters;
  kindCounts(): KindCounts;
  /** Peer connections by state. */
  connectionStates(): ReadonlyMap<string, number>;
  /** Each worker's own process, by index (none in one process). */
  workers(): ReadonlyArray<{ index: number } & WorkerProcessNumbers>;
  /** A node of a cluster (--redis): its view of the cluster (the sfu_cluster_* metrics exist only then). */
  cluster?: () => ClusterNumbers;
}

/** What a node of a cluster reports (cluster/cluster-node.ts). */
export interface ClusterNumbers {
  redisUp: boolean;
  /** Nodes in the registry at the last read. */
  nodes: number;
  roomsHeld: number;
  proxiedSessions: number;
  hostedSessions: number;
}

type Samples = Array<[labels: Record<string, string>, value: number]>;

/** Gauge name -> help and the stats field it reports. */
const GAUGES = {
  sfu_rooms: ["rooms with at least one participant", "rooms"],
  sfu_participants: ["participants joined, across rooms", "participants"],
  sfu_peer_connections: ["WebRTC peer connections held (two per participant at most)", "peerConnections"],
  sfu_signaling_sessions: ["signaling WebSockets open", "sessions"],
} as const satisfies Record<string, readonly [string, keyof RelayStats]>;

/** Counter name -> help and the stats field (a count since the start) it reports. */
const COUNTERS = {
  sfu_resumes_total: ["sessions taken back with resume after the WebSocket dropped", "resumes"],
  sfu_resume_refusals_total: ["resumes refused (window passed, relay restarted, bad grant): the client joins again", "resumeRefusals"],
  sfu_rejoins_total: ["joins of clients that lost their session and joined again", "rejoins"],
  sfu_layer_switches_total: ["times a subscription's forwarded simulcast layer changed to another layer", "layerSwitches"],
  sfu_retransmits_total: ["video packets resent to subscribers who NACKed them, from the relay's history", "retransmits"],
  sfu_retransmits_withheld_total: ["NACKed packets not resent: resent less than a round trip ago, over the subscriber's retransmission budget, or no longer kept", "retransmitsWithheld"],
  sfu_pacer_dropped_total: ["video packets dropped at the relay from a subscriber's full pacing queue (more than 256 packets held)", "pacerDropped"],
  sfu_probes_total: ["probes of subscribers' downlinks while a video was held below its wish (RTX copies of recent packets, judged from transport-cc feedback)", "probes"],
  sfu_probes_succeeded_total: ["probes whose feedback showed the link carrying more: the subscriber's estimate was raised", "probesSucceeded"],
  sfu_probe_packets_total: ["packets sent as probe padding", "probePackets"],
  sfu_losses_given_up_total: ["times packets lost from a publisher were not recovered by NACK in time and a keyframe was asked for instead", "lossesGivenUp"],
} as const satisfies Record<string, readonly [string, keyof RelayStats]>;

/** Connection states always reported, 0 included, so a dashboard's series do not come and go. */
const CONNECTION_STATES = ["new", "connecting", "connected", "disconnected", "failed", "closed"];

const JOIN_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class RelayMetrics {
  readonly #registry = new Registry();
  readonly #selected = new Counter({
    name: "sfu_selected_candidates_total",
    help: "peer connections that connected, by the client's candidate ICE selected: type (host, srflx, prflx: learnt from the client's checks, relay: from a --turn-url server) and protocol (udp, tcp)",
    labelNames: ["type", "protocol"] as const,
    registers: [this.#registry],
  });
  readonly #joins = new Counter({
    name: "sfu_joins_total",
    help: 'joins answered, by result: "ok" or the error code of the refusal (room-full, unauthorized, ...)',
    labelNames: ["result"] as const,
    registers: [this.#registry],
  });
  readonly #joinSeconds = new Histogram({
    name: "sfu_join_duration_seconds",
    help: "from the signaling WebSocket opening to its joined reply going out, for successful joins",
    buckets: JOIN_SECONDS_BUCKETS,
    registers: [this.#registry],
  });

  readonly #turnAddresses: ReadonlySet<string>;

  /** `turnAddresses`: where our TURN servers relay from (paths from there count as relay). */
  constructor(sources: MetricSources, turnAddresses: ReadonlySet<string>) {
    this.#turnAddresses = turnAddresses;
    const registers = [this.#registry];
    collectDefaultMetrics({ register: this.#registry });
    for (const [name, [help, field]] of Object.entries(GAUGES)) {
      new Gauge({
        name, help, registers,
        collect() {
          this.set(sources.stats()[field]);
        },
      });
    }
    const gaugeByKind = (name: string, help: string, read: () => Record<"audio" | "video", number>) =>
      new Gauge({
        name, help, registers, labelNames: ["kind"],
        collect() {
          for (const [kind, n] of Object.entries(read())) this.set({ kind }, n);
        },
      });
    gaugeByKind("sfu_tracks", "tracks published, by kind (audio, video)", () => sources.kindCounts().tracks);
    gaugeByKind("sfu_subscriptions", "subscriptions (a participant receiving a track), by the track's kind", () => sources.kindCounts().subscriptions);
    new Gauge({
      name: "sfu_peer_connection_states", help: "WebRTC peer connections held, by connection state", registers, labelNames: ["state"],
      collect() {
        const counts = sources.connectionStates();
        for (const state of new Set([...CONNECTION_STATES, ...counts.keys()])) this.set({ state }, counts.get(state) ?? 0);
      },
    });

    for (const [name, [help, field]] of Object.entries(COUNTERS)) {
      countedElsewhere(name, help, registers, [], () => [[{}, sources.stats()[field]]]);
    }
    const media = () => sources.media();
    countedElsewhere("sfu_rtp_packets_total", "RTP packets received from publishers (in) and forwarded to subscribers (out), by kind", registers, ["direction", "kind"], () =>
      byDirectionAndKind(media(), "packets"));
    countedElsewhere("sfu_rtp_bytes_total", "RTP payload bytes received from publishers (in) and forwarded to subscribers (out), by kind", registers, ["direction", "kind"], () =>
      byDirectionAndKind(media(), "bytes"));
    countedElsewhere("sfu_nacks_total", "RTCP NACKs (requests for lost packets) received from subscribers and sent to publishers", registers, ["direction"], () => [
      [{ direction: "from-subscribers" }, media().nacksFromSubscribers],
      [{ direction: "to-publishers" }, media().nacksToPublishers],
    ]);
    countedElsewhere("sfu_transport_cc_feedback_total", "RTCP transport-cc feedback packets received from subscribers (they drive the relay's estimate) and sent to publishers", registers, ["direction"], () => [
      [{ direction: "from-subscribers" }, media().transportFeedbackFromSubscribers],
      [{ direction: "to-publishers" }, media().transportFeedbackToPublishers],
    ]);
    countedElsewhere("sfu_rembs_to_publishers_total", "RTCP REMB messages sent to publishers (their uplink estimate for REMB-only publishers, or their viewers' cap)", registers, [], () => [
      [{}, media().rembsToPublishers],
    ]);
    countedElsewhere("sfu_plis_total", "RTCP PLIs (keyframe requests) received from subscribers and sent to publishers", registers, ["direction"], () => [
      [{ direction: "from-subscribers" }, media().plisFromSubscribers],
      [{ direction: "to-publishers" }, media().plisToPublishers],
    ]);
    countedElsewhere("sfu_data_messages_total", "data-channel frames relayed to their recipients or refused (malformed, too large, over the rate, unknown recipient)", registers, ["result"], () => [
      [{ result: "relayed" }, sources.stats().dataRelayed],
      [{ result: "refused" }, sources.stats().dataRefused],
    ]);

    // With workers, process_* and nodejs_* describe the primary (HTTP, WebSockets); the forwarding
    // happens in the workers, whose own numbers are these, by worker index (as in /health).
    const perWorker = (field: keyof WorkerProcessNumbers): Samples => sources.workers().map((w) => [{ worker: String(w.index) }, w[field]]);
    countedElsewhere("sfu_worker_cpu_seconds_total", "user and system CPU time of each worker process", registers, ["worker"], () => perWorker("cpuSeconds"));
    const workerGauge = (name: string, help: string, field: keyof WorkerProcessNumbers) =>
      new Gauge({
        name, help, registers, labelNames: ["worker"],
        collect() {
          this.reset();
          for (const [labels, value] of perWorker(field)) this.set(labels, value);
        },
      });
    workerGauge("sfu_worker_resident_memory_bytes", "resident memory of each worker process", "residentBytes");
    const cluster = sources.cluster;
    if (cluster !== undefined) {
      const clusterGauge = (name: string, help: string, read: (c: ClusterNumbers) => number) =>
        new Gauge({ name, help, registers, collect() { this.set(read(cluster())); } });
      clusterGauge("sfu_cluster_redis_up", "1 while this node reaches the cluster's Redis, 0 while it does not (rooms cannot be placed on other nodes)", (c) => (c.redisUp ? 1 : 0));
      clusterGauge("sfu_cluster_nodes", "nodes in the cluster's registry, this one included, at the last read", (c) => c.nodes);
      clusterGauge("sfu_cluster_rooms_held", "rooms this node holds in the cluster's directory", (c) => c.roomsHeld);
      new Gauge({
        name: "sfu_cluster_sessions", help: "signaling sessions crossing nodes: proxied (this node's WebSocket, another node's room) and hosted (another node's WebSocket, a room here)",
        registers, labelNames: ["side"],
        collect() {
          const c = cluster();
          this.set({ side: "proxied" }, c.proxiedSessions);
          this.set({ side: "hosted" }, c.hostedSessions);
        },
      });
    }
    workerGauge("sfu_worker_event_loop_delay_p99_seconds", "99th percentile of each worker's event loop delay since the previous read: its forwarding thread's saturation", "eventLoopDelayP99Seconds");
  }

  pathSelected(path: SelectedPath): void {
    this.#selected.inc({ type: pathType(path, this.#turnAddresses), protocol: path.protocol });
  }

  /** A join was answered: "ok" (after `seconds` since its socket opened) or the refusal's error code. */
  joinResult(result: string, seconds: number): void {
    this.#joins.inc({ result });
    if (result === "ok") this.#joinSeconds.observe(seconds);
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The exposition text of every metric, read now. */
  text(): Promise<string> {
    return this.#registry.metrics();
  }
}

/** A counter whose totals are kept elsewhere (since the start) and read at scrape. */
function countedElsewhere(name: string, help: string, registers: Registry[], labelNames: string[], read: () => Samples): void {
  new Counter({
    name, help, registers, labelNames,
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function byDirectionAndKind(media: MediaCounters, field: "packets" | "bytes"): Samples {
  return [
    [{ direction: "in", kind: "audio" }, media.in.audio[field]],
    [{ direction: "in", kind: "video" }, media.in.video[field]],
    [{ direction: "out", kind: "audio" }, media.out.audio[field]],
    [{ direction: "out", kind: "video" }, media.out.video[field]],
  ];
}

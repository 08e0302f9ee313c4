/**
 * The relay's Prometheus metrics, served at GET /metrics. The gauges are read from the shell's stats
 * when Prometheus scrapes (nothing is counted twice); the path counter is fed as connections connect.
 * Each relay has its own registry, so several relays in one process (tests) do not share numbers.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { pathType, type SelectedPath } from "../rtc/selected-path.ts";
import type { SfuStats } from "../shell/sfu-shell.ts";

export type RelayStats = SfuStats & { sessions: number };

/** Gauge name -> help and the stats field it reports. */
const GAUGES = {
  sfu_rooms: ["rooms with at least one participant", "rooms"],
  sfu_participants: ["participants joined, across rooms", "participants"],
  sfu_tracks: ["tracks published", "tracks"],
  sfu_subscriptions: ["subscriptions (a participant receiving a track)", "subscriptions"],
  sfu_peer_connections: ["WebRTC peer connections held (two per participant at most)", "peerConnections"],
  sfu_signaling_sessions: ["signaling WebSockets open", "sessions"],
} as const satisfies Record<string, readonly [string, keyof RelayStats]>;

/** Counter name -> help and the stats field (a count since the start) it reports. */
const COUNTERS = {
  sfu_resumes_total: ["sessions taken back with resume after the WebSocket dropped", "resumes"],
  sfu_resume_refusals_total: ["resumes refused (window passed, relay restarted, bad grant): the client joins again", "resumeRefusals"],
  sfu_rejoins_total: ["joins of clients that lost their session and joined again", "rejoins"],
} as const satisfies Record<string, readonly [string, keyof RelayStats]>;

export class RelayMetrics {
  readonly #registry = new Registry();
  readonly #selected = new Counter({
    name: "sfu_selected_candidates_total",
    help: "peer connections that connected, by the client's candidate ICE selected: type (host, srflx, prflx: learnt from the client's checks, relay: from a --turn-url server) and protocol (udp, tcp)",
    labelNames: ["type", "protocol"] as const,
    registers: [this.#registry],
  });

  readonly #turnAddresses: ReadonlySet<string>;

  /** `turnAddresses`: where our TURN servers relay from (paths from there count as relay). */
  constructor(stats: () => RelayStats, turnAddresses: ReadonlySet<string>) {
    this.#turnAddresses = turnAddresses;
    for (const [name, [help, field]] of Object.entries(GAUGES)) {
      new Gauge({
        name, help, registers: [this.#registry],
        collect() {
          this.set(stats()[field]);
        },
      });
    }
    for (const [name, [help, field]] of Object.entries(COUNTERS)) {
      // The core counts; a counter only goes up, so it takes what the core added since the last scrape.
      let reported = 0;
      new Counter({
        name, help, registers: [this.#registry],
        collect() {
          const now = stats()[field];
          this.inc(now - reported);
          reported = now;
        },
      });
    }
  }

  pathSelected(path: SelectedPath): void {
    this.#selected.inc({ type: pathType(path, this.#turnAddresses), protocol: path.protocol });
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The exposition text of every metric, read now. */
  text(): Promise<string> {
    return this.#registry.metrics();
  }
}

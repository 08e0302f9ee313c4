/** Configuration -> wiring: builds the SfuShell, the signaling server and the HTTP server, and starts them. */
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { RelayConfig } from "./config.ts";
import { readElementModule } from "./http/element-module.ts";
import { devToken } from "./http/dev-tokens.ts";
import { createHttpServer } from "./http/http-server.ts";
import { handleApiRequest } from "./http/server-api.ts";
import { handleWhipRequest } from "./http/whip.ts";
import { readTlsFiles, tlsPairError } from "./http/tls-files.ts";
import { RelayMetrics, type RelayStats } from "./http/metrics.ts";
import type { AdminRequest, AdminResult, Grants, KindCounts, RoomEventOutput } from "./core/index.ts";
import { turnServerAddresses } from "./rtc/turn-credentials.ts";
import type { SignalBackend } from "./signal/session.ts";
import { SignalServer } from "./signal/signal-server.ts";
import { nativeAcceleratorFor } from "./rtc/fast-send/native-accelerator.ts";
import { type SfuHooks, sfuFromConfig, whipSessionsFromConfig } from "./sfu-from-config.ts";
import type { MediaCounters } from "./shell/media-counters.ts";
import type { SfuShell, SfuStats } from "./shell/sfu-shell.ts";
import { WorkerPool } from "./workers/worker-pool.ts";
import { ClusterNode } from "./cluster/cluster-node.ts";
import { clusterWhip } from "./cluster/cluster-whip.ts";
import { verifyToken } from "./signal/access-token.ts";
import type { WhipBackend } from "./signal/whip-sessions.ts";
import { Webhooks } from "./webhooks/webhooks.ts";
import { createLogger } from "./log.ts";

export interface RunningRelay {
  /** The port the HTTP/WebSocket server listens on (useful with port 0). */
  port: number;
  /** ws://host:port/ws, or wss:// with a certificate */
  signalUrl: string;
  /**
   * Re-reads --tls-cert/--tls-key (SIGHUP, after a renewal): new connections get the new certificate,
   * open ones keep theirs. A bad file is refused (the error says which) and the current one stays.
   */
  reloadTls(): Promise<void>;
  /**
   * In one process (--workers 1): the numbers now. With workers: their sum as of the last read (each
   * /health and /metrics request, and readStats, reads them), so use readStats to see a change.
   */
  stats(): RelayStats;
  /** Reads every worker's numbers (nothing to read in one process), then returns stats(). */
  readStats(): Promise<RelayStats>;
  /** Stops at once: every WebSocket and connection cut. */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): no new connections, every participant told to reconnect and given
   * `config.drainMs` to close, then close().
   */
  shutdown(): Promise<void>;
}

/** What the relay runs its rooms on: the SfuShell in this process (--workers 1), or the WorkerPool. */
interface Sfu extends SignalBackend {
  /** Brings what the next four read up to date (the workers' numbers are read over IPC). */
  refresh(): Promise<void>;
  stats(): SfuStats;
  media(): MediaCounters;
  kindCounts(): KindCounts;
  connectionStates(): Map<string, number>;
  /** Each worker's own process, for /metrics (none in one process: process_* describe it). */
  workerProcesses(): ReturnType<WorkerPool["workerProcesses"]>;
  /** Added to /health: each worker's numbers (nothing in one process). */
  healthDetail(): Record<string, unknown>;
  admin(grants: Grants, request: AdminRequest): AdminResult | Promise<AdminResult>;
  /** Removes every participant. */
  stop(): Promise<void>;
}

/** The single-process relay: every call goes straight to the shell, as it did before workers existed. */
function inProcess(shell: SfuShell): Sfu {
  return {
    open: (session) => shell.open(session),
    handle: (participantId, message) => shell.handle(participantId, message),
    closed: (participantId, session) => shell.closed(participantId, session),
    openPipe: (room, origin, name, channel) => shell.openPipe(room, origin, name, channel),
    originOf: async (_room, participantId) => shell.originOf(participantId),
    refresh: async () => {},
    stats: () => shell.stats(),
    media: () => shell.media,
    kindCounts: () => shell.kindCounts(),
    connectionStates: () => shell.connectionStates(),
    workerProcesses: () => [],
    healthDetail: () => ({}),
    admin: (grants, request) => shell.admin(grants, request),
    stop: () => shell.close(),
  };
}

/**
 * The relay as one node of a cluster (--redis): sessions go through the cluster node, which places each
 * on this node's SFU or proxies it to the node holding its room; the rest is this node's SFU's, and
 * /health adds the cluster's view.
 */
function clustered(sfu: Sfu, cluster: ClusterNode): Sfu {
  return {
    open: (session) => cluster.open(session),
    handle: (participantId, message) => cluster.handle(participantId, message),
    closed: (participantId, session) => cluster.closed(participantId, session),
    refresh: async () => {
      await Promise.all([sfu.refresh(), cluster.refresh()]);
    },
    stats: () => sfu.stats(),
    media: () => sfu.media(),
    kindCounts: () => sfu.kindCounts(),
    connectionStates: () => sfu.connectionStates(),
    workerProcesses: () => sfu.workerProcesses(),
    healthDetail: () => ({ ...sfu.healthDetail(), ...cluster.healthDetail() }),
    admin: (grants, request) => cluster.admin(grants, request),
    // Out of the cluster first, so no room is placed here while the SFU stops.
    stop: async () => {
      await cluster.stop();
      await sfu.stop();
    },
  };
}

/** On a graceful stop, how long the webhooks get to deliver the last events (the leaves, rooms finished). */
const WEBHOOK_FLUSH_MS = 2000;

export async function startRelay(config: RelayConfig, log: Logger = createLogger(config.logLevel, config.logFormat)): Promise<RunningRelay> {
  const started = Date.now();
  const tlsError = tlsPairError(config.tlsCertPath, config.tlsKeyPath);
  if (tlsError) throw new Error(tlsError);
  // Checked here, so `--native-send on` without the module fails the start itself, workers or not.
  const sendPath = nativeAcceleratorFor(config.nativeSend) !== undefined ? "native" : "javascript";
  const tls = config.tlsCertPath !== undefined ? await readTlsFiles(config.tlsCertPath, config.tlsKeyPath!) : undefined;
  const metrics = new RelayMetrics(
    {
      stats: () => stats(), media: () => sfu.media(), kindCounts: () => sfu.kindCounts(), connectionStates: () => sfu.connectionStates(), workers: () => sfu.workerProcesses(),
      // Read only once the cluster node exists (no scrape is answered before).
      ...(config.redisUrl !== undefined ? { cluster: () => cluster!.numbers() } : {}),
    },
    await turnServerAddresses(config.turn.urls),
  );
  const webhooks = config.webhookUrls.length > 0 ? new Webhooks(config.webhookUrls, config.keys[0]!, log) : undefined;
  // Set once the SFU exists (no room starts before): the cluster holds the rooms this node's SFU runs.
  let cluster: ClusterNode | undefined;
  const onRoomEvent = webhooks === undefined && config.redisUrl === undefined ? undefined : (event: RoomEventOutput) => {
    cluster?.roomEvent(event);
    webhooks?.report(event);
  };
  const hooks: SfuHooks = { onPathSelected: (path) => metrics.pathSelected(path), onRoomEvent };
  const shell = config.workers > 1 ? undefined : sfuFromConfig(config, log, hooks);
  const pool = shell === undefined ? await WorkerPool.start({ config, log, ...hooks }) : undefined;
  const local = pool ?? inProcess(shell!);
  if (config.redisUrl !== undefined) {
    try {
      const joinAdmitted = config.keys.length === 0 ? undefined : async (token: string | undefined, room: string) => {
        const access = await verifyToken(token, config.keys);
        return "granted" in access && access.granted.roomJoin && access.granted.room === room;
      };
      cluster = await ClusterNode.start({
        redisUrl: config.redisUrl, nodeId: config.nodeId, local, admin: (grants, request) => local.admin(grants, request), log, span: config.clusterRooms === "span",
        ...(joinAdmitted ? { joinAdmitted } : {}),
      });
    } catch (e) {
      await local.stop();
      throw e;
    }
  }
  const sfu = cluster === undefined ? local : clustered(local, cluster);
  // WHIP/WHEP sessions drive the shell in this process, or the room's worker's (the HTTP stays here).
  const localWhip: WhipBackend = pool?.whip ?? whipSessionsFromConfig(config, shell!);
  const whip = cluster === undefined ? localWhip : clusterWhip(localWhip, cluster);
  const signal = new SignalServer(sfu, {
    maxFrameBytes: config.maxFrameBytes, maxMessagesPerSecond: config.maxMessagesPerSecond, pingIntervalMs: config.pingIntervalMs, log,
    joinTimeoutMs: config.joinTimeoutMs, maxSendBufferBytes: config.maxSendBufferBytes, maxPendingSessions: config.maxPendingSessions,
    maxSessionsPerAddress: config.maxSessionsPerAddress, allowedOrigins: config.allowedOrigins,
    onJoinResult: (result, seconds) => metrics.joinResult(result, seconds),
  });
  const stats = (): RelayStats => ({ ...sfu.stats(), sessions: signal.sessionCount });
  const http = createHttpServer({
    elementModule: () => readElementModule(config.elementModulePath),
    health: async () => {
      await sfu.refresh();
      return { status: "ok", uptimeSeconds: Math.round((Date.now() - started) / 1000), ...stats(), ...sfu.healthDetail() };
    },
    metrics: async () => {
      await sfu.refresh();
      return { contentType: metrics.contentType, text: await metrics.text() };
    },
    upgrade: (req, socket, head) => signal.upgrade(req, socket, head),
    api: (req, res, method) => handleApiRequest(req, res, method, { keys: config.keys, call: (grants, request) => sfu.admin(grants, request) }),
    whip: (req, res, kind, rest, query) => handleWhipRequest(req, res, kind, rest, query, { sessions: whip, allowedOrigins: config.allowedOrigins }),
    devToken: config.devTokens ? (query, origin) => devToken(query, origin, config.allowedOrigins, config.keys[0]!) : undefined,
  }, tls);
  try {
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(config.port, config.host, () => resolve());
    });
  } catch (e) {
    // The port is taken (say): what started stops, so the process can exit with the error (this one).
    await Promise.allSettled([signal.close(), sfu.stop()]);
    throw e;
  }
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const access = config.keys.length === 0 ? "open" : "tokens";
  const scheme = tls ? "wss" : "ws";
  log.info({ port, host: config.host, workers: config.workers, node: cluster?.nodeId, sendPath, url: `${scheme}://${host}:${port}/ws`, tls: tls !== undefined, rtcBind: config.rtcBindAddress, iceTcp: config.iceTcp, turn: config.turn.urls, access, webhooks: config.webhookUrls.length }, "relay listening");
  const closed = new Promise<void>((resolve) => http.once("close", () => resolve()));
  /** `webhookFlushMs`: how long the last events (participants left, rooms finished) get to be delivered. */
  const close = async (webhookFlushMs = 0) => {
    await signal.close();
    await sfu.stop();
    await webhooks?.close(webhookFlushMs);
    http.close();
    http.closeAllConnections();
    await closed;
  };
  return {
    port,
    signalUrl: `${scheme}://${host}:${port}/ws`,
    stats,
    async readStats() {
      await sfu.refresh();
      return stats();
    },
    async reloadTls() {
      if (!tls || !("setSecureContext" in http)) throw new Error("no --tls-cert/--tls-key to reload: the relay serves plain HTTP");
      const files = await readTlsFiles(config.tlsCertPath!, config.tlsKeyPath!);
      http.setSecureContext({ cert: files.cert, key: files.key });
      log.info({ cert: config.tlsCertPath }, "TLS certificate reloaded");
    },
    close: () => close(),
    async shutdown() {
      await sfu.refresh();
      log.info({ participants: stats().participants, drainMs: config.drainMs }, "shutting down: telling participants to reconnect");
      http.close(); // no new connections; the open ones are drained below
      // Out of the cluster before the drain: no room is placed here meanwhile, and the sessions other
      // nodes proxied here reconnect through them at once (their rooms are re-created there).
      await cluster?.stop();
      await signal.drain(config.drainMs);
      await close(WEBHOOK_FLUSH_MS);
      log.info("relay stopped");
    },
  };
}

/** Configuration -> wiring: builds the SfuShell, the signaling server and the HTTP server, and starts them. */
import { randomBytes } from "node:crypto";
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
import { turnIceServers, turnServerAddresses } from "./rtc/turn-credentials.ts";
import { verifyToken } from "./signal/access-token.ts";
import { SignalServer } from "./signal/signal-server.ts";
import { SfuShell } from "./shell/sfu-shell.ts";
import { WhipSessions } from "./signal/whip-sessions.ts";
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
  stats(): RelayStats;
  /** Stops at once: every WebSocket and connection cut. */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): no new connections, every participant told to reconnect and given
   * `config.drainMs` to close, then close().
   */
  shutdown(): Promise<void>;
}

/** On a graceful stop, how long the webhooks get to deliver the last events (the leaves, rooms finished). */
const WEBHOOK_FLUSH_MS = 2000;

export async function startRelay(config: RelayConfig, log: Logger = createLogger(config.logLevel, config.logFormat)): Promise<RunningRelay> {
  const started = Date.now();
  const tlsError = tlsPairError(config.tlsCertPath, config.tlsKeyPath);
  if (tlsError) throw new Error(tlsError);
  const tls = config.tlsCertPath !== undefined ? await readTlsFiles(config.tlsCertPath, config.tlsKeyPath!) : undefined;
  const metrics = new RelayMetrics(
    { stats: () => stats(), media: () => sfu.media, kindCounts: () => sfu.kindCounts(), connectionStates: () => sfu.connectionStates() },
    await turnServerAddresses(config.turn.urls),
  );
  const webhooks = config.webhookUrls.length > 0 ? new Webhooks(config.webhookUrls, config.keys[0]!, log) : undefined;
  const newSecret = () => randomBytes(18).toString("base64url");
  const joinTokens = config.keys.length > 0 ? (token: string | undefined) => verifyToken(token, config.keys) : undefined;
  const sfu = new SfuShell({
    core: config.core,
    net: {
      bindAddress: config.rtcBindAddress, announcedAddresses: config.announcedAddresses, udpPortRange: config.udpPortRange,
      iceTcp: config.iceTcp, tcpPortRange: config.tcpPortRange, onPathSelected: (path) => metrics.pathSelected(path),
    },
    iceServers: (participantId) => turnIceServers(config.turn, participantId, Date.now()),
    peerTimeoutMs: config.peerTimeoutMs,
    log,
    newId: (prefix) => prefix + randomBytes(6).toString("base64url"),
    newSecret,
    verifyToken: joinTokens,
    onRoomEvent: webhooks === undefined ? undefined : (event) => webhooks.report(event),
  });
  const signal = new SignalServer(sfu, {
    maxFrameBytes: config.maxFrameBytes, maxMessagesPerSecond: config.maxMessagesPerSecond, pingIntervalMs: config.pingIntervalMs, log,
    joinTimeoutMs: config.joinTimeoutMs, maxSendBufferBytes: config.maxSendBufferBytes, maxPendingSessions: config.maxPendingSessions,
    maxSessionsPerAddress: config.maxSessionsPerAddress, allowedOrigins: config.allowedOrigins,
    onJoinResult: (result, seconds) => metrics.joinResult(result, seconds),
  });
  const whip = new WhipSessions({ shell: sfu, verifyToken: joinTokens, newSecret });
  const stats = (): RelayStats => ({ ...sfu.stats(), sessions: signal.sessionCount });
  const http = createHttpServer({
    elementModule: () => readElementModule(config.elementModulePath),
    health: () => ({ status: "ok", uptimeSeconds: Math.round((Date.now() - started) / 1000), ...stats() }),
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    upgrade: (req, socket, head) => signal.upgrade(req, socket, head),
    api: (req, res, method) => handleApiRequest(req, res, method, { keys: config.keys, call: (grants, request) => sfu.admin(grants, request) }),
    whip: (req, res, kind, rest, query) => handleWhipRequest(req, res, kind, rest, query, { sessions: whip, allowedOrigins: config.allowedOrigins }),
    devToken: config.devTokens ? (query, origin) => devToken(query, origin, config.allowedOrigins, config.keys[0]!) : undefined,
  }, tls);
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const access = config.keys.length === 0 ? "open" : "tokens";
  const scheme = tls ? "wss" : "ws";
  log.info({ port, host: config.host, url: `${scheme}://${host}:${port}/ws`, tls: tls !== undefined, rtcBind: config.rtcBindAddress, iceTcp: config.iceTcp, turn: config.turn.urls, access, webhooks: config.webhookUrls.length }, "relay listening");
  const closed = new Promise<void>((resolve) => http.once("close", () => resolve()));
  /** `webhookFlushMs`: how long the last events (participants left, rooms finished) get to be delivered. */
  const close = async (webhookFlushMs = 0) => {
    await signal.close();
    await sfu.close();
    await webhooks?.close(webhookFlushMs);
    http.close();
    http.closeAllConnections();
    await closed;
  };
  return {
    port,
    signalUrl: `${scheme}://${host}:${port}/ws`,
    stats,
    async reloadTls() {
      if (!tls || !("setSecureContext" in http)) throw new Error("no --tls-cert/--tls-key to reload: the relay serves plain HTTP");
      const files = await readTlsFiles(config.tlsCertPath!, config.tlsKeyPath!);
      http.setSecureContext({ cert: files.cert, key: files.key });
      log.info({ cert: config.tlsCertPath }, "TLS certificate reloaded");
    },
    close: () => close(),
    async shutdown() {
      log.info({ participants: stats().participants, drainMs: config.drainMs }, "shutting down: telling participants to reconnect");
      http.close(); // no new connections; the open ones are drained below
      await signal.drain(config.drainMs);
      await close(WEBHOOK_FLUSH_MS);
      log.info("relay stopped");
    },
  };
}

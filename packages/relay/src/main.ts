/** Configuration -> wiring: builds the SfuShell, the signaling server and the HTTP server, and starts them. */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import type { RelayConfig } from "./config.ts";
import { readElementModule } from "./http/element-module.ts";
import { devToken } from "./http/dev-tokens.ts";
import { createHttpServer } from "./http/http-server.ts";
import { RelayMetrics, type RelayStats } from "./http/metrics.ts";
import { turnIceServers, turnServerAddresses } from "./rtc/turn-credentials.ts";
import { verifyToken } from "./signal/access-token.ts";
import { SignalServer } from "./signal/signal-server.ts";
import { SfuShell } from "./shell/sfu-shell.ts";

export interface RunningRelay {
  /** The port the HTTP/WebSocket server listens on (useful with port 0). */
  port: number;
  /** ws://host:port/ws */
  signalUrl: string;
  stats(): RelayStats;
  /** Stops at once: every WebSocket and connection cut. */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): no new connections, every participant told to reconnect and given
   * `config.drainMs` to close, then close().
   */
  shutdown(): Promise<void>;
}

export async function startRelay(config: RelayConfig, log: Logger = pino({ level: config.logLevel })): Promise<RunningRelay> {
  const started = Date.now();
  const metrics = new RelayMetrics(
    { stats: () => stats(), media: () => sfu.media, kindCounts: () => sfu.kindCounts(), connectionStates: () => sfu.connectionStates() },
    await turnServerAddresses(config.turn.urls),
  );
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
    newSecret: () => randomBytes(18).toString("base64url"),
    verifyToken: config.keys.length > 0 ? (token) => verifyToken(token, config.keys) : undefined,
  });
  const signal = new SignalServer(sfu, {
    maxFrameBytes: config.maxFrameBytes, maxMessagesPerSecond: config.maxMessagesPerSecond, pingIntervalMs: config.pingIntervalMs, log,
    joinTimeoutMs: config.joinTimeoutMs, maxSendBufferBytes: config.maxSendBufferBytes, maxPendingSessions: config.maxPendingSessions,
    maxSessionsPerAddress: config.maxSessionsPerAddress, allowedOrigins: config.allowedOrigins,
    onJoinResult: (result, seconds) => metrics.joinResult(result, seconds),
  });
  const stats = (): RelayStats => ({ ...sfu.stats(), sessions: signal.sessionCount });
  const http = createHttpServer({
    elementModule: () => readElementModule(config.elementModulePath),
    health: () => ({ status: "ok", uptimeSeconds: Math.round((Date.now() - started) / 1000), ...stats() }),
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    upgrade: (req, socket, head) => signal.upgrade(req, socket, head),
    devToken: config.devTokens ? (query, origin) => devToken(query, origin, config.allowedOrigins, config.keys[0]!) : undefined,
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const access = config.keys.length === 0 ? "open" : "tokens";
  log.info({ port, host: config.host, rtcBind: config.rtcBindAddress, iceTcp: config.iceTcp, turn: config.turn.urls, access }, "relay listening");
  const closed = new Promise<void>((resolve) => http.once("close", () => resolve()));
  const close = async () => {
    await signal.close();
    await sfu.close();
    http.close();
    http.closeAllConnections();
    await closed;
  };
  return {
    port,
    signalUrl: `ws://${host}:${port}/ws`,
    stats,
    close,
    async shutdown() {
      log.info({ participants: stats().participants, drainMs: config.drainMs }, "shutting down: telling participants to reconnect");
      http.close(); // no new connections; the open ones are drained below
      await signal.drain(config.drainMs);
      await close();
      log.info("relay stopped");
    },
  };
}

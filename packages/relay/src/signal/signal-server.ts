/** Accepts signaling WebSockets (once Admission lets them in) and gives each its own SignalSession. */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Logger } from "pino";
import { Admission, type AdmissionLimits, addressKey, type Refusal } from "./admission.ts";
import { type SessionOptions, type SignalBackend, SignalSession } from "./session.ts";

export interface SignalServerOptions extends AdmissionLimits {
  maxFrameBytes: number;
  pingIntervalMs: number;
  maxMessagesPerSecond: number;
  joinTimeoutMs: number;
  maxSendBufferBytes: number;
  onJoinResult: SessionOptions["onJoinResult"];
  log: Logger;
}

/**
 * WebSocket close code for "going away" (RFC 6455): the relay is shutting down. The SDK takes it, like
 * any close but 1008 and 4xxx, for a lost connection and reconnects: right for a restart.
 */
export const CLOSE_GOING_AWAY = 1001;
export const SHUTDOWN_REASON = "the relay is shutting down; reconnect";

const STATUS_TEXT: Record<Refusal["status"], string> = { 403: "Forbidden", 429: "Too Many Requests", 503: "Service Unavailable" };

export class SignalServer {
  private readonly wss: WebSocketServer;
  private readonly admission: Admission;

  private readonly sfu: SignalBackend;
  private readonly options: SignalServerOptions;

  constructor(sfu: SignalBackend, options: SignalServerOptions) {
    this.sfu = sfu;
    this.options = options;
    this.admission = new Admission(options);
    // Frames up to 4x the limit are read and answered with a `too-large` error; beyond that ws closes
    // the socket (1009), since reading them would let one client make the relay buffer anything.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Math.min(4 * options.maxFrameBytes, 4 * 1024 * 1024) });
  }

  get sessionCount(): number {
    return this.wss.clients.size;
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const address = addressKey(request.socket.remoteAddress);
    const refusal = this.admission.refusal(request.headers.origin, address);
    if (refusal) {
      this.options.log.info({ address, origin: request.headers.origin, status: refusal.status }, "signaling upgrade refused");
      refuse(socket, refusal);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      new SignalSession(ws, socket, this.sfu, {
        maxFrameBytes: this.options.maxFrameBytes,
        pingIntervalMs: this.options.pingIntervalMs,
        maxMessagesPerSecond: this.options.maxMessagesPerSecond,
        joinTimeoutMs: this.options.joinTimeoutMs,
        maxSendBufferBytes: this.options.maxSendBufferBytes,
        admission: this.admission.admit(address),
        onJoinResult: this.options.onJoinResult,
        log: this.options.log,
      });
    });
  }

  /**
   * Shutting down: every client is told (close 1001 with a reason; the SDK reconnects) and gets up to
   * `drainMs` to close its end; whoever has not by then is cut off.
   */
  async drain(drainMs: number): Promise<void> {
    const closing = [...this.wss.clients].map((ws) => {
      const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
      ws.close(CLOSE_GOING_AWAY, SHUTDOWN_REASON);
      return closed;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
    await Promise.race([Promise.all(closing), deadline]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Answers the upgrade request with a plain HTTP error whose body says what to do, and hangs up. */
function refuse(socket: Duplex, refusal: Refusal): void {
  const body = `${refusal.message}\n`;
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status]}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

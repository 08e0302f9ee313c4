/**
 * One WebSocket signaling session: validates every frame, enforces the per-session rate limit, and hands
 * each message to the SfuShell (which asks the core). Messages are handled strictly in arrival order,
 * also when one awaits an SDP negotiation. Bad input gets a specific `error` frame and changes nothing.
 * A `leave` ends the session once its reply is sent.
 */
import type { WebSocket } from "ws";
import type { Logger } from "pino";
import { parseClientMessage, type ClientMessage, type ServerMessage } from "@sfu-room/protocol";
import type { SessionPort, SfuShell } from "../shell/sfu-shell.ts";
import { TokenBucket } from "../core/token-bucket.ts";

export interface SessionOptions {
  maxFrameBytes: number;
  /** A WebSocket ping goes out this often; a session that misses two pongs in a row is closed (ms). */
  pingIntervalMs: number;
  maxMessagesPerSecond: number;
  log: Logger;
}

export class SignalSession implements SessionPort {
  /** Minted by the shell when the socket opened; the participant's id once joined. */
  private readonly participantId: string;
  private queue: Promise<void> = Promise.resolve();
  private readonly bucket: TokenBucket;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private missedPongs = 0;

  private readonly ws: WebSocket;
  private readonly sfu: SfuShell;
  private readonly options: SessionOptions;

  constructor(ws: WebSocket, sfu: SfuShell, options: SessionOptions) {
    this.ws = ws;
    this.sfu = sfu;
    this.options = options;
    this.participantId = sfu.open(this);
    this.bucket = new TokenBucket(options.maxMessagesPerSecond * 2, options.maxMessagesPerSecond);
    ws.on("message", (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on("close", () => this.onClosed());
    // ICE-lite never probes the client, so a client that vanishes without closing its socket (network
    // gone, laptop lid shut) is only noticed here: no pong to two pings in a row ends the session.
    ws.on("pong", () => (this.missedPongs = 0));
    this.heartbeat = setInterval(() => {
      if (++this.missedPongs > 2) {
        options.log.info({ participantId: this.participantId }, "no pong from the client; closing its session");
        ws.terminate();
        return;
      }
      ws.ping();
    }, options.pingIntervalMs);
    ws.on("error", (e) => options.log.debug({ err: e }, "websocket error"));
  }

  send(message: ServerMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(message));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.ws.close(1000, reason.slice(0, 120));
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (!this.bucket.take(performance.now())) {
      this.send({
        type: "error", code: "rate-limited",
        message: `more than ${this.options.maxMessagesPerSecond} messages per second; this one was dropped, slow down`,
      });
      return;
    }
    if (isBinary) {
      this.send({ type: "error", code: "bad-json", message: "binary frames are not accepted; send JSON in text frames" });
      return;
    }
    if (data.length > this.options.maxFrameBytes) {
      this.send({
        type: "error", code: "too-large",
        message: `frame of ${data.length} bytes is over the limit of ${this.options.maxFrameBytes} bytes`,
      });
      return;
    }
    const parsed = parseClientMessage(data.toString("utf8"), this.options.maxFrameBytes);
    if (!parsed.ok) {
      this.send(parsed.error);
      return;
    }
    const message = parsed.message;
    this.queue = this.queue
      .then(() => this.handle(message))
      .catch((e: Error) => {
        this.options.log.error({ err: e, type: message.type }, "handler failed");
        this.send({ type: "error", id: "id" in message ? message.id : undefined, code: "internal", message: "the relay failed to handle this message" });
      });
  }

  private async handle(message: ClientMessage): Promise<void> {
    if (this.closed) return;
    await this.sfu.handle(this.participantId, message);
    if (message.type === "leave") this.close("left");
  }

  private onClosed(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.sfu.closed(this.participantId);
  }
}

/** Accepts signaling WebSockets and gives each its own SignalSession. */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Logger } from "pino";
import type { SfuShell } from "../shell/sfu-shell.ts";
import { SignalSession } from "./session.ts";

export interface SignalServerOptions {
  maxFrameBytes: number;
  pingIntervalMs: number;
  maxMessagesPerSecond: number;
  log: Logger;
}

export class SignalServer {
  private readonly wss: WebSocketServer;

  private readonly sfu: SfuShell;
  private readonly options: SignalServerOptions;

  constructor(sfu: SfuShell, options: SignalServerOptions) {
    this.sfu = sfu;
    this.options = options;
    // Frames up to 4x the limit are read and answered with a `too-large` error; beyond that ws closes
    // the socket (1009), since reading them would let one client make the relay buffer anything.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Math.min(4 * options.maxFrameBytes, 4 * 1024 * 1024) });
  }

  get sessionCount(): number {
    return this.wss.clients.size;
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      new SignalSession(ws, this.sfu, {
        maxFrameBytes: this.options.maxFrameBytes,
        pingIntervalMs: this.options.pingIntervalMs,
        maxMessagesPerSecond: this.options.maxMessagesPerSecond,
        log: this.options.log,
      });
    });
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

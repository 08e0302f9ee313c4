/**
 * A TCP proxy on 127.0.0.1 in front of a relay's HTTP/WebSocket port, for signaling outages: cut(ms)
 * resets every connection through it and refuses new ones (closed listening socket: "connection
 * refused") for `ms`, then accepts again. Media (UDP) does not pass through it and is not affected:
 * this is the "signaling dropped, peer connections fine" case.
 */
import { createServer, type Server, type Socket, connect } from "node:net";

export interface TcpProxy {
  /** The proxy's port (the same across cuts). */
  port: number;
  /** Connections accepted so far (one per WebSocket). */
  readonly accepted: number;
  /** Resets every connection and refuses new ones for `ms`; resolves when it accepts again. */
  cut(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let server: Server;
  let closed = false;

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer((client) => {
        accepted++;
        const upstream = connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => undefined); // a reset is the point of this proxy
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };

  const port = await listen(0);
  return {
    port,
    get accepted() {
      return accepted;
    },
    async cut(ms) {
      const stopped = stopListening();
      resetAll();
      await stopped;
      await new Promise((r) => setTimeout(r, ms));
      if (!closed) await listen(port);
    },
    async close() {
      closed = true;
      resetAll();
      await stopListening().catch(() => undefined);
    },
  };
}

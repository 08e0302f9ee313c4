/**
 * The relay's HTTP server: `GET /health`, `GET /metrics` (Prometheus), the server API under
 * `POST /api/` (server-api.ts), WHIP and WHEP under `/whip/`, `/whep/` (whip.ts) and the WebSocket upgrade on `/ws`. Anything else gets a JSON 404 that says where to go. With a certificate the same routes are
 * served over HTTPS (and the upgrade is then wss://).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { DevTokenReply } from "./dev-tokens.ts";
import type { ElementModule } from "./element-module.ts";
import { json } from "./json-reply.ts";
import type { TlsFiles } from "./tls-files.ts";

export interface HttpRoutes {
  /** The health report (with workers: read from each of them first). */
  health(): Promise<Record<string, unknown>>;
  /** Prometheus exposition text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** The `<sfu-room>` element module (see element-module.ts). */
  elementModule(): Promise<ElementModule>;
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** `POST /api/<Method>` (server-api.ts); `method` is the path after /api/. */
  api(req: IncomingMessage, res: ServerResponse, method: string): Promise<void>;
  /** Everything under /whip/ and /whep/ (whip.ts); `rest` is the path after it. */
  whip(req: IncomingMessage, res: ServerResponse, kind: "whip" | "whep", rest: string, query: URLSearchParams): Promise<void>;
  /** `GET /dev/token` (dev-tokens.ts); undefined: the endpoint is off (404). */
  devToken: ((query: URLSearchParams, origin: string | undefined) => Promise<DevTokenReply>) | undefined;
}

/** `tls`: serve HTTPS/wss with this certificate (see tls-files.ts); undefined: plain HTTP/ws. */
export function createHttpServer(routes: HttpRoutes, tls?: TlsFiles): Server | HttpsServer {
  const handle: RequestListener = (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/health") {
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "use GET /health" });
      void routes.health().then((report) => json(res, 200, report));
      return;
    }
    if (path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "use GET /metrics" });
      routes.metrics().then(
        ({ contentType, text }) => {
          res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
          res.end(req.method === "HEAD" ? undefined : text);
        },
        // A metric whose collect() threw: say so instead of leaving the request (and the process) hanging.
        (e: Error) => json(res, 500, { error: `metrics could not be collected: ${e.message}` }),
      );
      return;
    }
    if (path === "/sfu-room.js") {
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "use GET /sfu-room.js" });
      void routes.elementModule().then((element) => {
        if (!element.ok) return json(res, element.status, { error: element.error });
        res.writeHead(200, {
          "content-type": "text/javascript; charset=utf-8",
          "content-length": element.code.byteLength,
          // Any page may load the element, wherever it is served from.
          "access-control-allow-origin": "*",
          "cache-control": "public, max-age=300",
        });
        res.end(req.method === "HEAD" ? undefined : element.code);
      });
      return;
    }
    if (path === "/dev/token" && routes.devToken !== undefined) {
      if (req.method !== "GET") return json(res, 405, { error: "use GET /dev/token?room=NAME" });
      const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
      void routes.devToken(query, req.headers.origin).then((reply) => {
        if (reply.allowOrigin !== undefined) res.setHeader("access-control-allow-origin", reply.allowOrigin);
        json(res, reply.status, reply.body);
      });
      return;
    }
    if (path.startsWith("/api/")) {
      // A failure past validation is a relay bug: say so rather than leave the request hanging.
      routes.api(req, res, path.slice("/api/".length)).catch((e: Error) => {
        if (!res.headersSent) json(res, 500, { error: "internal", message: `the server API failed: ${e.message}` });
        else res.destroy();
      });
      return;
    }
    const whipKind = path.startsWith("/whip/") ? "whip" : path.startsWith("/whep/") ? "whep" : undefined;
    if (whipKind !== undefined) {
      const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
      routes.whip(req, res, whipKind, path.slice("/whip/".length), query).catch((e: Error) => {
        if (!res.headersSent) json(res, 500, { error: "internal", message: `${whipKind.toUpperCase()} failed: ${e.message}` });
        else res.destroy();
      });
      return;
    }
    if (path === "/ws") return json(res, 426, { error: "/ws is the signaling WebSocket: connect with a WebSocket client" });
    json(res, 404, { error: `nothing at ${path}; the signaling WebSocket is /ws, the element module GET /sfu-room.js, the health check GET /health, metrics GET /metrics, the server API POST /api/<Method>, WHIP POST /whip/<room>, WHEP POST /whep/<room>` });
  };
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handle) : createServer(handle);
  server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    routes.upgrade(req, socket, head);
  });
  return server;
}

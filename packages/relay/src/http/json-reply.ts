/** A JSON reply, never cached: every HTTP endpoint of the relay answers with these. */
import type { ServerResponse } from "node:http";

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

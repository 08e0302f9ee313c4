/** Reading what an HTTP request carries: its body (bounded) and its bearer token. */
import type { IncomingMessage } from "node:http";

/**
 * The body as text, or undefined when it is larger than `maxBytes`. A larger body is still read to its
 * end (and dropped), so the connection stays usable for the 413.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks).toString("utf8");
}

/** The token of `Authorization: Bearer <token>`: undefined without the header, "malformed" when it says something else. */
export function bearerToken(req: IncomingMessage): string | undefined | "malformed" {
  if (req.headers.authorization === undefined) return undefined;
  return /^Bearer (\S+)$/i.exec(req.headers.authorization)?.[1] ?? "malformed";
}

/**
 * `GET /dev/token?room=R&name=N` (only with `--dev-tokens on`): a token with every grant for room R,
 * signed with the relay's first key, for the demo under `npm start`. Development only: whoever can
 * reach the endpoint gets in, exactly as on an open relay, so it is off unless asked for and answers
 * only pages the WebSocket would let in (--allowed-origins).
 */
import { randomBytes } from "node:crypto";
import { mintToken, type SigningKey } from "../signal/access-token.ts";
import { originAllowed } from "../signal/origin-policy.ts";

export interface DevTokenReply {
  status: number;
  body: { token: string } | { error: string };
  /** The page's origin, echoed for CORS (the demo is on another port than the relay). */
  allowOrigin: string | undefined;
}

/** Development tokens live as long as a working day. */
const DEV_TOKEN_TTL_SECONDS = 12 * 3600;

export async function devToken(query: URLSearchParams, origin: string | undefined, allowedOrigins: readonly string[], key: SigningKey): Promise<DevTokenReply> {
  if (!originAllowed(origin, allowedOrigins)) return { status: 403, body: { error: `pages from ${origin} may not get development tokens (--allowed-origins)` }, allowOrigin: undefined };
  const room = query.get("room");
  if (room === null || room === "") return { status: 400, body: { error: "give the room: /dev/token?room=NAME[&name=DISPLAY]" }, allowOrigin: origin };
  const name = query.get("name") ?? undefined;
  const identity = `dev-${randomBytes(6).toString("base64url")}`;
  const token = await mintToken(key, { identity, name: name === "" ? undefined : name, video: { room, roomJoin: true }, ttlSeconds: DEV_TOKEN_TTL_SECONDS });
  return { status: 200, body: { token }, allowOrigin: origin };
}

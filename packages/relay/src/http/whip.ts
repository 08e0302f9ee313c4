/**
 * WHIP over HTTP (RFC 9725, docs/whip-whep.md): the endpoint `POST /whip/<room>` (an SDP offer in,
 * `201 Created` with the answer, `Location` and `ETag` out) and each session's resource
 * `/whip/<room>/<id>`: `PATCH` (trickle ICE, ICE restart) and `DELETE`. WHEP is the same under
 * `/whep/<room>` (`?participant=<id>&quality=low|medium|high`), with a recvonly offer. This file speaks
 * HTTP (methods, content types, headers, CORS, status codes); the sessions are signal/whip-sessions.ts.
 *
 * Every refusal is JSON `{ "error": <code>, "message": <what to do> }` and changes nothing.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { cleanDisplayName, type IceServer, PROTOCOL_LIMITS, type Quality, ROOM_NAME_PATTERN } from "@sfu-room/protocol";
import { parseSdpFragment } from "../rtc/whip-sdp.ts";
import { originAllowed } from "../signal/origin-policy.ts";
import { type SessionKind, unknownSession, type WhipBackend, type WhipRefusal } from "../signal/whip-sessions.ts";
import { json } from "./json-reply.ts";
import { bearerToken, readBody } from "./request-body.ts";

const SDP = "application/sdp";
const SDP_FRAGMENT = "application/trickle-ice-sdpfrag";
/** What a browser publisher on another origin may send (the preflight's answer). */
const PREFLIGHT_HEADERS = {
  "access-control-allow-headers": "authorization, content-type, if-match",
  "access-control-max-age": "600",
};
/** What it may read of each answer: fetch hides every other response header from the page. */
const EXPOSED_HEADERS = "location, etag, link, accept-patch";
const ENDPOINT_METHODS = "POST, OPTIONS";
const RESOURCE_METHODS = "PATCH, DELETE, OPTIONS";

export interface WhipHttpOptions {
  /** The sessions: in this process, or on the room's worker (the answers are the same). */
  sessions: WhipBackend;
  /** The pages that may publish from a browser: the WebSocket's rule (--allowed-origins). */
  allowedOrigins: readonly string[];
}

const QUALITIES: readonly string[] = ["low", "medium", "high"] satisfies Quality[];

/** Answers one request under /whip/ or /whep/ (`rest`: the path after it; `query`: the URL's query). */
export async function handleWhipRequest(req: IncomingMessage, res: ServerResponse, kind: SessionKind, rest: string, query: URLSearchParams, options: WhipHttpOptions): Promise<void> {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!originAllowed(origin, options.allowedOrigins)) return refuse(res, { status: 403, error: "forbidden", message: `pages from ${origin} may not use ${kind.toUpperCase()} on this relay (--allowed-origins)` });
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
    res.setHeader("vary", "origin");
  }
  const [room, resourceId, ...more] = rest.split("/");
  if (room === undefined || room === "" || more.length > 0 || resourceId === "") {
    return refuse(res, { status: 404, error: "not-found", message: `${kind.toUpperCase()} is POST /${kind}/<room>; a session is the Location that POST answered` });
  }
  if (!ROOM_NAME_PATTERN.test(room)) return refuse(res, { status: 400, error: "bad-room-name", message: `"${room.slice(0, 80)}" is not a room name: 1-64 characters of A-Z a-z 0-9 - _ . not starting with '.'` });
  const methods = resourceId === undefined ? ENDPOINT_METHODS : RESOURCE_METHODS;
  if (req.method === "OPTIONS") {
    res.writeHead(204, { ...PREFLIGHT_HEADERS, "access-control-allow-methods": methods, allow: methods, ...(resourceId === undefined ? { "accept-post": SDP } : { "accept-patch": SDP_FRAGMENT }) });
    return void res.end();
  }
  if (resourceId === undefined) {
    if (req.method !== "POST") return refuse(res, { status: 405, error: "method-not-allowed", message: `use POST /${kind}/${room} with an SDP offer (${SDP})` }, { allow: methods });
    return publish(req, res, kind, room, query, options.sessions);
  }
  if (req.method === "PATCH") return patch(req, res, kind, room, resourceId, options.sessions);
  if (req.method === "DELETE") {
    const refused = await options.sessions.end(kind, room, resourceId);
    if (refused !== undefined) return refuse(res, refused);
    res.writeHead(200, { "content-length": 0 });
    return void res.end();
  }
  refuse(res, { status: 405, error: "method-not-allowed", message: `a ${kind.toUpperCase()} session takes PATCH (${SDP_FRAGMENT}) and DELETE` }, { allow: methods });
}

/** POST: WHIP publishes the offer's tracks, WHEP answers the offer with the room's media. */
async function publish(req: IncomingMessage, res: ServerResponse, kind: SessionKind, room: string, query: URLSearchParams, sessions: WhipBackend): Promise<void> {
  if (mediaType(req) !== SDP) return refuse(res, { status: 415, error: "unsupported-media-type", message: `the offer must be sent as Content-Type: ${SDP}, not ${req.headers["content-type"] ?? "nothing"}` }, { "accept-post": SDP });
  const token = bearerToken(req);
  if (token === "malformed") return refuse(res, { status: 401, error: "unauthorized", message: 'the Authorization header must be "Bearer <token>"' });
  const name = query.get("name") ?? "";
  if (name.length > PROTOCOL_LIMITS.nameLength) return refuse(res, { status: 400, error: "bad-name", message: `the name is longer than ${PROTOCOL_LIMITS.nameLength} characters` });
  const quality = query.get("quality") ?? undefined;
  if (quality !== undefined && !QUALITIES.includes(quality)) return refuse(res, { status: 400, error: "bad-quality", message: `quality is low, medium or high, not "${quality.slice(0, 20)}"` });
  const offer = await readBody(req, PROTOCOL_LIMITS.sdpLength);
  if (offer === undefined) return refuse(res, { status: 413, error: "too-large", message: `the offer is larger than ${PROTOCOL_LIMITS.sdpLength} bytes` });
  const wish = { participant: query.get("participant") ?? undefined, quality: quality as Quality | undefined };
  const published = kind === "whip" ? await sessions.publish(room, cleanDisplayName(name), token, offer) : await sessions.view(room, token, offer, wish);
  if ("status" in published) return refuse(res, published);
  const links = iceServerLinks(published.iceServers);
  res.writeHead(201, {
    "content-type": SDP,
    "content-length": Buffer.byteLength(published.answer),
    location: `/${kind}/${room}/${published.resourceId}`,
    etag: `"${published.etag}"`,
    "accept-patch": SDP_FRAGMENT,
    "cache-control": "no-store",
    ...(links.length > 0 ? { link: links.join(", ") } : {}),
  });
  res.end(published.answer);
}

/**
 * Trickle ICE or an ICE restart (RFC 9725 4.4). The relay is ICE-lite: it answers the client's checks
 * and needs none of its candidates, so trickled ones are accepted (204) and not applied. New ICE
 * credentials restart ICE; the answer is the relay's new ICE part, with a new ETag.
 */
async function patch(req: IncomingMessage, res: ServerResponse, kind: SessionKind, room: string, resourceId: string, sessions: WhipBackend): Promise<void> {
  if (mediaType(req) !== SDP_FRAGMENT) return refuse(res, { status: 415, error: "unsupported-media-type", message: `PATCH takes Content-Type: ${SDP_FRAGMENT}, not ${req.headers["content-type"] ?? "nothing"}` }, { "accept-patch": SDP_FRAGMENT });
  const text = await readBody(req, PROTOCOL_LIMITS.sdpLength);
  if (text === undefined) return refuse(res, { status: 413, error: "too-large", message: `the fragment is larger than ${PROTOCOL_LIMITS.sdpLength} bytes` });
  const etag = await sessions.etag(kind, room, resourceId);
  if (etag === undefined) return refuse(res, unknownSession(kind, room, resourceId));
  const fragment = parseSdpFragment(text);
  if ("refused" in fragment) return refuse(res, { status: 400, error: "bad-sdp", message: fragment.refused });
  const ifMatch = req.headers["if-match"];
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== `"${etag}"`) {
    return refuse(res, { status: 412, error: "etag-mismatch", message: `If-Match ${ifMatch} is not this session's ETag "${etag}" (an ICE restart changed it); use the ETag of the last answer` });
  }
  if (fragment.ufrag === undefined || fragment.pwd === undefined) {
    res.writeHead(204);
    return void res.end();
  }
  if (ifMatch === undefined) return refuse(res, { status: 428, error: "precondition-required", message: 'an ICE restart must carry If-Match: "*" (RFC 9725 4.4.2)' });
  const restarted = await sessions.restartIce(kind, room, resourceId, fragment.ufrag, fragment.pwd);
  if ("status" in restarted) return refuse(res, restarted);
  res.writeHead(200, { "content-type": SDP_FRAGMENT, "content-length": Buffer.byteLength(restarted.fragment), etag: `"${restarted.etag}"` });
  res.end(restarted.fragment);
}

/** The request's media type without parameters (`application/sdp; charset=utf-8` is `application/sdp`). */
function mediaType(req: IncomingMessage): string | undefined {
  return req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
}

/** RFC 9725 4.6: one `Link` value per ICE server URL, with the credentials of the session's participant. */
function iceServerLinks(servers: readonly IceServer[]): string[] {
  return servers.flatMap((server) =>
    server.urls.map((url) => {
      const credentials = server.username !== undefined && server.credential !== undefined
        ? `; username="${server.username}"; credential="${server.credential}"; credential-type="password"`
        : "";
      return `<${url}>; rel="ice-server"${credentials}`;
    }),
  );
}

function refuse(res: ServerResponse, refusal: WhipRefusal, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (refusal.status === 401) res.setHeader("www-authenticate", 'Bearer realm="sfu-room"');
  json(res, refusal.status, { error: refusal.error, message: refusal.message });
}

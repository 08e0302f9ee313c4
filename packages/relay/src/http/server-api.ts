/**
 * The server API over HTTP (docs/api.md): `POST /api/<Method>` with a JSON body, authenticated by
 * `Authorization: Bearer <token>`, a token signed with one of the relay's keys. Method names and
 * request fields follow LiveKit's RoomService (identity names a participant); responses are JSON.
 *
 * This handler only authenticates (401), validates the body (400) and hands the call to the core,
 * whose answer it sends: 200 with the result, or 403/404 with the core's refusal. An error body is
 * always `{ "error": <code>, "message": <what to do> }`. Nothing changes unless the answer is 200.
 * A relay without keys has no admin tokens, so there the API refuses every call (401).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as v from "valibot";
import { cleanDisplayName, PROTOCOL_LIMITS, ROOM_NAME_PATTERN } from "@sfu-room/protocol";
import type { AdminErrorCode, AdminMethod, AdminRequest, AdminResult, Grants } from "../core/index.ts";
import { type SigningKey, verifyToken } from "../signal/access-token.ts";
import { json } from "./json-reply.ts";
import { bearerToken, readBody } from "./request-body.ts";

/** Largest request body read (a metadata update is the largest call). */
export const MAX_API_BODY_BYTES = 16 * 1024;

const RoomName = v.pipe(v.string(), v.regex(ROOM_NAME_PATTERN, "a room name is 1-64 characters of A-Z a-z 0-9 - _ . and does not start with '.'"));
const Identity = v.pipe(v.string(), v.minLength(1, "identity must not be empty"), v.maxLength(256));
const TrackId = v.pipe(v.string(), v.minLength(1, "trackId must not be empty"), v.maxLength(64));

/** The body of each method (unknown fields are refused: a misspelt field must not pass silently). */
const BODIES = {
  ListRooms: v.strictObject({ names: v.optional(v.pipe(v.array(RoomName), v.maxLength(1000))) }),
  ListParticipants: v.strictObject({ room: RoomName }),
  RemoveParticipant: v.strictObject({ room: RoomName, identity: Identity }),
  MutePublishedTrack: v.strictObject({ room: RoomName, identity: Identity, trackId: TrackId, muted: v.boolean() }),
  UpdateParticipant: v.pipe(
    v.strictObject({
      room: RoomName,
      identity: Identity,
      name: v.optional(v.pipe(v.string(), v.maxLength(PROTOCOL_LIMITS.nameLength), v.transform(cleanDisplayName))),
      metadata: v.optional(v.pipe(v.string(), v.maxLength(PROTOCOL_LIMITS.metadataLength))),
    }),
    v.check((b) => b.name !== undefined || b.metadata !== undefined, "give name or metadata (or both): there is nothing else to update"),
  ),
  DeleteRoom: v.strictObject({ room: RoomName }),
} satisfies Record<AdminMethod, v.GenericSchema>;

export const API_METHODS = Object.keys(BODIES) as AdminMethod[];

const STATUS: Record<AdminErrorCode, number> = { forbidden: 403, "unknown-room": 404, "unknown-participant": 404, "unknown-track": 404 };

export interface ServerApiOptions {
  keys: readonly SigningKey[];
  /** The core's answer to a call by a verified token (SfuShell.admin, or the room's worker's: WorkerPool.admin). */
  call(grants: Grants, request: AdminRequest): AdminResult | Promise<AdminResult>;
}

/** Answers one request under /api/ (`method` is the path's last part). */
export async function handleApiRequest(req: IncomingMessage, res: ServerResponse, method: string, options: ServerApiOptions): Promise<void> {
  if (!isMethod(method)) return send(res, 404, "unknown-method", `there is no server API method "${method}"; the methods are ${API_METHODS.join(", ")} (POST /api/<Method>, see docs/api.md)`);
  if (req.method !== "POST") return send(res, 405, "method-not-allowed", `use POST /api/${method} with a JSON body`);
  if (options.keys.length === 0) return send(res, 401, "unauthorized", "this relay runs open (no --keys), so there are no admin tokens and the server API is off; start it with --keys");
  const bearer = bearerToken(req);
  if (bearer === "malformed") return send(res, 401, "unauthorized", "the Authorization header must be \"Bearer <token>\"");
  const access = await verifyToken(bearer, options.keys, "admin");
  if ("refused" in access) return send(res, 401, "unauthorized", access.refused);
  const text = await readBody(req, MAX_API_BODY_BYTES);
  if (text === undefined) return send(res, 413, "too-large", `the body is larger than ${MAX_API_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch (e) {
    return send(res, 400, "bad-json", `the body is not JSON: ${(e as Error).message}`);
  }
  const parsed = v.safeParse(BODIES[method], body);
  if (!parsed.success) return send(res, 400, "bad-request", `${method}: ${describeIssue(parsed.issues[0])}`);
  const result = await options.call(access.granted, { method, ...parsed.output } as AdminRequest);
  if (!result.ok) return send(res, STATUS[result.code], result.code, result.message);
  json(res, 200, result.body);
}

function isMethod(method: string): method is AdminMethod {
  return Object.hasOwn(BODIES, method);
}

/** "field: what is wrong" for the first problem valibot found. */
function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((p) => String(p.key)).join(".");
  if (issue.type === "strict_object" && path && issue.expected === "never") return `unknown field "${path}"; see docs/api.md for the fields of this method`;
  if (issue.type === "strict_object" && path && issue.received === "undefined") return `${path} is missing`;
  return path ? `${path}: ${issue.message}` : issue.message;
}

function send(res: ServerResponse, status: number, error: string, message: string): void {
  json(res, status, { error, message });
}

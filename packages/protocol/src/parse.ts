/**
 * Turning a raw WebSocket frame into a validated message, or into the exact error frame to send back.
 * Both ends use these: the relay on client frames, the SDK on relay frames.
 */
import * as v from "valibot";
import { ClientMessageSchema, ServerMessageSchema } from "./messages.ts";
import type { ClientMessage, ErrorMessage, ServerMessage } from "./types.ts";

const utf8 = new TextEncoder();

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ErrorMessage };

const CLIENT_TYPES = new Set(ClientMessageSchema.options.map((o) => o.entries.type.literal));
const SERVER_TYPES = new Set(ServerMessageSchema.options.map((o) => o.entries.type.literal));

/** Default largest frame the relay accepts, in bytes (an SDP offer with simulcast is ~6-10 kB). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

function fail(code: ErrorMessage["code"], message: string, id?: string): { ok: false; error: ErrorMessage } {
  return { ok: false, error: id === undefined ? { type: "error", code, message } : { type: "error", id, code, message } };
}

/** "tracks.0.mid: Invalid length: Expected >=1 but received 0" */
function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path?.map((p) => String(p.key)).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

function parseWith<T>(
  schema: v.GenericSchema<unknown, T>,
  knownTypes: Set<string>,
  frame: string,
  maxBytes: number,
): ParseResult<T> {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: only long frames need the exact count.
  const size = frame.length * 3 <= maxBytes ? 0 : utf8.encode(frame).length;
  if (size > maxBytes) {
    return fail("too-large", `frame of ${size} bytes is over the limit of ${maxBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch (e) {
    return fail("bad-json", `frame is not JSON (${(e as Error).message}); send one JSON object per text frame`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail("bad-message", "a message is a JSON object with a string `type`");
  }
  const record = json as Record<string, unknown>;
  const id = typeof record.id === "string" && record.id.length <= 64 ? record.id : undefined;
  if (typeof record.type !== "string") {
    return fail("bad-message", "message has no string `type`", id);
  }
  if (!knownTypes.has(record.type)) {
    const known = [...knownTypes].join(", ");
    return fail("unknown-type", `unknown message type "${record.type.slice(0, 40)}"; known types: ${known}`, id);
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    // A bad room name is common enough (it comes from URLs) to deserve its own code.
    const roomIssue =
      record.type === "join" && typeof record.room === "string" && result.issues.some((i) => i.path?.[0]?.key === "room");
    const code = roomIssue ? "bad-room-name" : "bad-message";
    return fail(code, `invalid "${record.type}" message: ${describeIssues(result.issues)}`, id);
  }
  return { ok: true, message: result.output };
}

/** Validates a frame from a client (used by the relay). */
export function parseClientMessage(frame: string, maxBytes = DEFAULT_MAX_FRAME_BYTES): ParseResult<ClientMessage> {
  return parseWith(ClientMessageSchema, CLIENT_TYPES, frame, maxBytes);
}

/** Validates a frame from the relay (used by clients). */
export function parseServerMessage(frame: string, maxBytes = 1024 * 1024): ParseResult<ServerMessage> {
  return parseWith(ServerMessageSchema, SERVER_TYPES, frame, maxBytes);
}

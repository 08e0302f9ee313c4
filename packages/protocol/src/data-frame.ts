/**
 * Data messages travel on two WebRTC data channels of the subscriber connection (docs/protocol.md,
 * "Data messages"), one binary frame per message part:
 *
 *   byte 0      version (1)
 *   byte 1      flags: bit 0 = the payload is UTF-8 text
 *   bytes 2-3   header length H, big-endian
 *   4 .. 4+H    header: a JSON object (DataHeader), UTF-8
 *   4+H ..      payload bytes
 *
 * A client sets `topic`, `to` (recipient participant ids; absent = everyone else in the room) and, for a
 * message split into parts, `msg`/`part`/`parts`. The relay replaces `to` by `from` (the sender as the
 * relay knows it: never trusted from the client) and passes the rest on unchanged.
 */
import * as v from "valibot";

export const DATA_FRAME_VERSION = 1;
export const DATA_FLAG_TEXT = 1;
/** Labels and stream ids of the two negotiated data channels (both sides create them). */
export const DATA_CHANNELS = {
  reliable: { label: "sfu-reliable", id: 0, ordered: true },
  lossy: { label: "sfu-lossy", id: 1, ordered: false, maxRetransmits: 0 },
} as const;
/** Largest frame (header + payload) either side sends; larger messages are split into parts. */
export const MAX_DATA_FRAME_BYTES = 16 * 1024;
/** Largest message (all parts together) the SDK sends and reassembles. */
export const MAX_DATA_MESSAGE_BYTES = 1024 * 1024;

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
export const DataHeaderSchema = v.strictObject({
  /** Application-chosen label, e.g. "chat". */
  topic: v.optional(v.pipe(v.string(), v.maxLength(128))),
  /** Client -> relay: recipients; absent means everyone else in the room. */
  to: v.optional(v.pipe(v.array(Id), v.minLength(1), v.maxLength(64))),
  /** Relay -> client: who sent it. */
  from: v.optional(Id),
  /** Client-chosen id, echoed in the `error` the relay sends back over the WebSocket if it refuses it. */
  id: v.optional(Id),
  /** Parts of one message share `msg`; `part` counts from 0 to `parts - 1`. */
  msg: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 31))),
  part: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(63))),
  parts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
});
export type DataHeader = v.InferOutput<typeof DataHeaderSchema>;

export interface DataFrame {
  header: DataHeader;
  /** The payload is UTF-8 text (sent as a string). */
  text: boolean;
  payload: Uint8Array;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeDataFrame(frame: DataFrame): Uint8Array {
  const header = utf8Encoder.encode(JSON.stringify(frame.header));
  const out = new Uint8Array(4 + header.length + frame.payload.length);
  out[0] = DATA_FRAME_VERSION;
  out[1] = frame.text ? DATA_FLAG_TEXT : 0;
  out[2] = header.length >> 8;
  out[3] = header.length & 0xff;
  out.set(header, 4);
  out.set(frame.payload, 4 + header.length);
  return out;
}

export type DataFrameResult = { ok: true; frame: DataFrame } | { ok: false; error: string };

/** Reads a frame; the error says what is wrong with it. The payload is a view, not a copy. */
export function decodeDataFrame(bytes: Uint8Array): DataFrameResult {
  if (bytes.length < 4) return { ok: false, error: `a data frame has at least 4 bytes, got ${bytes.length}` };
  if (bytes[0] !== DATA_FRAME_VERSION) return { ok: false, error: `data frame version ${bytes[0]} is not ${DATA_FRAME_VERSION}` };
  const flags = bytes[1]!;
  if (flags & ~DATA_FLAG_TEXT) return { ok: false, error: `unknown data frame flags ${flags}` };
  const headerLength = (bytes[2]! << 8) | bytes[3]!;
  if (4 + headerLength > bytes.length) return { ok: false, error: `header length ${headerLength} runs past the frame` };
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(bytes.subarray(4, 4 + headerLength)));
  } catch {
    return { ok: false, error: "the data frame header is not UTF-8 JSON" };
  }
  const header = v.safeParse(DataHeaderSchema, json);
  if (!header.success) {
    const issue = header.issues[0]!;
    const path = issue.path?.map((p) => String(p.key)).join(".");
    return { ok: false, error: `bad data frame header: ${path ? `${path}: ` : ""}${issue.message}` };
  }
  const h = header.output;
  if ((h.msg !== undefined || h.part !== undefined || h.parts !== undefined) && (h.msg === undefined || h.part === undefined || h.parts === undefined || h.part >= h.parts)) {
    return { ok: false, error: "a message part needs msg, part and parts, with part < parts" };
  }
  return { ok: true, frame: { header: h, text: (flags & DATA_FLAG_TEXT) !== 0, payload: bytes.subarray(4 + headerLength) } };
}

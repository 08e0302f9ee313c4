/**
 * Data messages <-> data frames (docs/protocol.md, 7.5). A message that does not fit in one frame
 * (MAX_DATA_FRAME_BYTES including its header) is split into parts that share `msg` and carry
 * `part`/`parts`; the receiver puts them back together. Pure functions and one small class: no I/O.
 */
import {
  type DataFrame,
  type DataHeader,
  encodeDataFrame,
  MAX_DATA_FRAME_BYTES,
  MAX_DATA_MESSAGE_BYTES,
} from "@sfu-room/protocol";

/** The protocol's limit on `parts`. */
export const MAX_DATA_PARTS = 64;
/** A message whose parts stop arriving is dropped after this long. */
export const REASSEMBLY_TIMEOUT_MS = 30_000;
/** Memory for messages being reassembled, all senders together; the oldest are dropped beyond it. */
export const REASSEMBLY_BUFFER_BYTES = 8 * MAX_DATA_MESSAGE_BYTES;

export interface OutgoingMessage {
  payload: Uint8Array;
  /** The payload is UTF-8 text (sent as a string). */
  text: boolean;
  topic?: string | undefined;
  to?: string[] | undefined;
  /** Frame id echoed by the relay in errors about this message. */
  id?: string | undefined;
}

export type EncodeResult =
  | { ok: true; frames: Uint8Array[] }
  | { ok: false; reason: "over-limit" | "needs-parts" | "too-many-parts"; limit: number };

const encoder = new TextEncoder();

/**
 * The frames of one message. `msg` numbers a multi-part message; `allowParts: false` (lossy channel)
 * refuses a message that needs more than one frame, since a lost part would lose the whole message.
 */
export function encodeMessage(message: OutgoingMessage, msg: number, allowParts: boolean): EncodeResult {
  const size = message.payload.length;
  if (size > MAX_DATA_MESSAGE_BYTES) return { ok: false, reason: "over-limit", limit: MAX_DATA_MESSAGE_BYTES };
  const base: DataHeader = {
    ...(message.topic !== undefined ? { topic: message.topic } : {}),
    ...(message.to !== undefined ? { to: message.to } : {}),
    ...(message.id !== undefined ? { id: message.id } : {}),
  };
  const single = 4 + encoder.encode(JSON.stringify(base)).length + size;
  if (single <= MAX_DATA_FRAME_BYTES) return { ok: true, frames: [encodeDataFrame({ header: base, text: message.text, payload: message.payload })] };
  const singleLimit = MAX_DATA_FRAME_BYTES - (single - size);
  if (!allowParts) return { ok: false, reason: "needs-parts", limit: singleLimit };
  // Every part's header is at most as long as the one with the widest numbers.
  const widest = encoder.encode(JSON.stringify({ ...base, msg, part: MAX_DATA_PARTS - 1, parts: MAX_DATA_PARTS })).length;
  const capacity = MAX_DATA_FRAME_BYTES - 4 - widest;
  const parts = Math.ceil(size / capacity);
  if (parts > MAX_DATA_PARTS) return { ok: false, reason: "too-many-parts", limit: Math.min(MAX_DATA_MESSAGE_BYTES, capacity * MAX_DATA_PARTS) };
  const frames: Uint8Array[] = [];
  for (let part = 0; part < parts; part++) {
    const payload = message.payload.subarray(part * capacity, Math.min(size, (part + 1) * capacity));
    frames.push(encodeDataFrame({ header: { ...base, msg, part, parts }, text: message.text, payload }));
  }
  return { ok: true, frames };
}

/** Room.send() numbers its frames "d0", "d1", ...: room for a long one. */
const WIDEST_ID = "d" + "z".repeat(11);

/** The largest payload Room.send() accepts with this topic and these recipients (its frame id included). */
export function maxMessageBytes(header: Pick<OutgoingMessage, "topic" | "to">, allowParts: boolean): number {
  const base = { ...header, id: WIDEST_ID };
  if (!allowParts) return MAX_DATA_FRAME_BYTES - 4 - encoder.encode(JSON.stringify(base)).length;
  const widest = encoder.encode(JSON.stringify({ ...base, msg: 2 ** 31, part: MAX_DATA_PARTS - 1, parts: MAX_DATA_PARTS })).length;
  return Math.min(MAX_DATA_MESSAGE_BYTES, (MAX_DATA_FRAME_BYTES - 4 - widest) * MAX_DATA_PARTS);
}

export interface ReceivedMessage {
  from: string;
  topic: string | undefined;
  text: boolean;
  payload: Uint8Array;
}

interface Partial {
  parts: Array<Uint8Array | undefined>;
  received: number;
  bytes: number;
  text: boolean;
  topic: string | undefined;
  started: number;
}

/** Puts multi-part messages back together; single frames pass straight through (copied). */
export class Reassembler {
  readonly #pending = new Map<string, Partial>();
  #bytes = 0;

  /** The complete message this frame finishes, if any. `from` is the relay-stamped sender. */
  accept(from: string, reliable: boolean, frame: DataFrame, now: number): ReceivedMessage | undefined {
    const { header } = frame;
    this.#expire(now);
    if (header.parts === undefined || header.msg === undefined || header.part === undefined || header.parts === 1) {
      return { from, topic: header.topic, text: frame.text, payload: frame.payload.slice() };
    }
    const key = `${reliable ? "r" : "l"}\u0000${from}\u0000${header.msg}`;
    let entry = this.#pending.get(key);
    if (entry && entry.parts.length !== header.parts) {
      this.#drop(key, entry); // a new message reusing the number, or a broken sender: start over
      entry = undefined;
    }
    if (!entry) {
      entry = { parts: new Array<Uint8Array | undefined>(header.parts).fill(undefined), received: 0, bytes: 0, text: frame.text, topic: header.topic, started: now };
      this.#pending.set(key, entry);
    }
    if (entry.parts[header.part] !== undefined) return undefined; // duplicate
    entry.parts[header.part] = frame.payload.slice();
    entry.received++;
    entry.bytes += frame.payload.length;
    this.#bytes += frame.payload.length;
    if (entry.bytes > MAX_DATA_MESSAGE_BYTES) {
      this.#drop(key, entry);
      return undefined;
    }
    if (entry.received < entry.parts.length) {
      this.#trim();
      return undefined;
    }
    this.#drop(key, entry);
    const payload = new Uint8Array(entry.bytes);
    let offset = 0;
    for (const part of entry.parts) {
      payload.set(part!, offset);
      offset += part!.length;
    }
    return { from, topic: entry.topic, text: entry.text, payload };
  }

  /** Forgets the unfinished messages of someone who left. */
  forget(from: string): void {
    for (const [key, entry] of this.#pending) if (key.split("\u0000")[1] === from) this.#drop(key, entry);
  }

  get pendingBytes(): number {
    return this.#bytes;
  }

  #drop(key: string, entry: Partial): void {
    this.#pending.delete(key);
    this.#bytes -= entry.bytes;
  }

  #expire(now: number): void {
    for (const [key, entry] of this.#pending) if (now - entry.started > REASSEMBLY_TIMEOUT_MS) this.#drop(key, entry);
  }

  /** Over the memory budget: drop the oldest unfinished messages (Map order is insertion order). */
  #trim(): void {
    for (const [key, entry] of this.#pending) {
      if (this.#bytes <= REASSEMBLY_BUFFER_BYTES) return;
      this.#drop(key, entry);
    }
  }
}

/**
 * Data messages of a Room: `send()` checks and frames a message (splitting it into parts when needed)
 * and hands it to the data channels; received frames are put back together into `data` events.
 */
import { decodeDataFrame, MAX_DATA_MESSAGE_BYTES } from "@sfu-room/protocol";
import { DataChannels, type SendResult } from "./data-channels.ts";
import { encodeMessage, Reassembler } from "./data-message.ts";
import { RoomError } from "./errors.ts";
import type { RemoteParticipant } from "./remote.ts";

export type { SendResult } from "./data-channels.ts";

export interface SendOptions {
  /** Reliable and ordered (default), or lossy: unordered, never retransmitted, at most one frame (about 16 KiB). */
  reliable?: boolean;
  /** Participant ids to send to; everyone else in the room when absent. */
  to?: string[];
  /** An application label, e.g. "chat" (at most 128 characters). */
  topic?: string;
}

/** A received data message (`data` event of Room, `detail` of <sfu-room>'s `data` event). */
export interface DataEvent {
  /** The sender's participant id, as the relay knows it (never taken from the sender's word). */
  from: string;
  /** The sender, when this client knows them. */
  participant: RemoteParticipant | undefined;
  topic: string | undefined;
  /** A string when it was sent as a string, else the bytes. */
  payload: string | Uint8Array;
  /** Came on the reliable channel. */
  reliable: boolean;
}

/** Prefix of the frame ids this SDK gives data messages (signaling request ids are numbers). */
export const DATA_ID_PREFIX = "d";
const MAX_TOPIC = 128;
const MAX_TARGETS = 64;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export interface RoomDataHost {
  readonly participants: ReadonlyMap<string, RemoteParticipant>;
  localId(): string;
  emit(event: DataEvent): void;
}

export class RoomData {
  readonly channels: DataChannels;
  readonly #reassembler = new Reassembler();
  readonly #host: RoomDataHost;
  #nextMsg = 0;
  #nextId = 0;

  constructor(host: RoomDataHost) {
    this.#host = host;
    this.channels = new DataChannels((reliable, bytes) => this.#onFrame(reliable, bytes));
  }

  async send(data: string | ArrayBuffer | Uint8Array, options: SendOptions = {}): Promise<SendResult> {
    const reliable = options.reliable ?? true;
    const text = typeof data === "string";
    const payload = text ? utf8.encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
    this.#check(options);
    const id = `${DATA_ID_PREFIX}${(this.#nextId++).toString(36)}`;
    const encoded = encodeMessage({ payload, text, topic: options.topic, to: options.to, id }, this.#nextMsg, reliable);
    if (!encoded.ok) {
      const size = `${payload.length.toLocaleString("en")} bytes`;
      const limit = `${encoded.limit.toLocaleString("en")} bytes`;
      const why =
        encoded.reason === "needs-parts"
          ? `A lossy message must fit in one frame (${limit} with this topic and recipients); this one is ${size}. Send it reliably, or send less.`
          : encoded.reason === "over-limit"
            ? `A data message may be at most ${(MAX_DATA_MESSAGE_BYTES / 1024 / 1024).toFixed(0)} MiB (${limit}); this one is ${size}. Nothing was sent.`
            : `This message is ${size}; with this topic and recipients at most ${limit} fit in the 64 parts a message may have. Nothing was sent.`;
      throw new RoomError("data-too-large", why);
    }
    if (encoded.frames.length > 1) this.#nextMsg = (this.#nextMsg + 1) % 2 ** 31;
    return this.channels.send(reliable, encoded.frames);
  }

  /** Someone left: drop their half-received messages. */
  forget(participantId: string): void {
    this.#reassembler.forget(participantId);
  }

  /** See DataChannels.close. */
  close(heldError?: RoomError): void {
    this.channels.close(heldError);
  }

  #check(options: SendOptions): void {
    if (options.topic !== undefined && (typeof options.topic !== "string" || options.topic.length > MAX_TOPIC)) {
      throw new RoomError("invalid-message", `A topic is a string of at most ${MAX_TOPIC} characters.`);
    }
    const to = options.to;
    if (to === undefined) return;
    if (!Array.isArray(to) || to.length === 0 || to.length > MAX_TARGETS) {
      throw new RoomError("invalid-message", `"to" lists 1 to ${MAX_TARGETS} participant ids (leave it out to send to everyone).`);
    }
    const unknown = to.filter((id) => typeof id !== "string" || id === this.#host.localId() || !this.#host.participants.has(id));
    if (unknown.length > 0) {
      throw new RoomError(
        "unknown-participant",
        `Not sent: ${unknown.map((id) => `"${String(id)}"`).join(", ")} ${unknown.length === 1 ? "is" : "are"} not another participant of this room.`,
      );
    }
  }

  #onFrame(reliable: boolean, bytes: Uint8Array): void {
    const decoded = decodeDataFrame(bytes);
    if (!decoded.ok) {
      console.warn(`[sfu-room] ignoring a data frame from the relay: ${decoded.error}`);
      return;
    }
    const from = decoded.frame.header.from;
    if (from === undefined) return;
    const message = this.#reassembler.accept(from, reliable, decoded.frame, Date.now());
    if (!message) return;
    this.#host.emit({
      from,
      participant: this.#host.participants.get(from),
      topic: message.topic,
      payload: message.text ? utf8Decoder.decode(message.payload) : message.payload,
      reliable,
    });
  }
}

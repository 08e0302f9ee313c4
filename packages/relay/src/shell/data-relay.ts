/**
 * DataRelay: the bytes of data messages. It decodes a frame that arrived on a participant's data
 * channel into the core's `data` input (the core decides who receives it, or refuses it), and carries
 * out the core's `deliver-data`: the frame re-encoded once with the sender stamped in, sent to each
 * recipient's channel.
 */
import { type DataFrame, decodeDataFrame, encodeDataFrame } from "@sfu-room/protocol";
import type { DataInput, RelayedData } from "../core/index.ts";

/** Where a frame goes: "sent", or why not (the recipient's channel is not open, or backed up). */
export type SendData = (recipientId: string, reliable: boolean, frame: Buffer) => "sent" | "not-open" | "backed-up";

export class DataRelay {
  /** The frame of the `data` input being drained: `deliver-data` outputs refer to it. */
  #current: DataFrame | undefined;
  readonly #send: SendData;

  constructor(send: SendData) {
    this.#send = send;
  }

  /** The core input for a frame from `participantId`; the frame stays current until `done()`. */
  input(participantId: string, reliable: boolean, bytes: Buffer, now: number): DataInput {
    const decoded = decodeDataFrame(bytes);
    this.#current = decoded.ok ? decoded.frame : undefined;
    const header = decoded.ok ? decoded.frame.header : undefined;
    return {
      type: "data",
      now,
      participantId,
      reliable,
      malformed: decoded.ok ? undefined : decoded.error,
      to: header?.to,
      size: bytes.length,
      messageId: header?.id,
    };
  }

  /** The outputs of the current frame's input are drained. */
  done(): void {
    this.#current = undefined;
  }

  /**
   * Sends the current frame, stamped with `from`, to each recipient. Returns the recipients whose
   * reliable channel is backed up (they did not get it: the sender must be told).
   */
  deliver(from: string, recipients: readonly string[], reliable: boolean, relayed: readonly RelayedData[] = []): string[] {
    const frame = this.#current;
    if (!frame) return [];
    const { to: _to, id: _id, from: _claimed, ...rest } = frame.header;
    const encode = (to: string[] | undefined) => {
      const encoded = encodeDataFrame({ header: { ...rest, from, ...(to === undefined ? {} : { to }) }, text: frame.text, payload: frame.payload });
      return Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    };
    const bytes = encode(undefined);
    const backedUp: string[] = [];
    for (const id of recipients) if (this.#send(id, reliable, bytes) === "backed-up" && reliable) backedUp.push(id);
    // To another node's pipe: the sender stamped, and the recipients there kept (that node delivers to them).
    for (const { pipe, to } of relayed) if (this.#send(pipe, reliable, to === undefined ? bytes : encode(to)) === "backed-up" && reliable) backedUp.push(pipe);
    return backedUp;
  }

  /** The core input for a frame another node relayed through a pipe: from the mirror it names (checked by the caller). */
  relayedInput(reliable: boolean, bytes: Buffer, now: number): DataInput | undefined {
    const decoded = decodeDataFrame(bytes);
    if (!decoded.ok || decoded.frame.header.from === undefined) return undefined;
    this.#current = decoded.frame;
    const { from, to } = decoded.frame.header;
    return { type: "data", now, participantId: from, reliable, malformed: undefined, to, size: bytes.length, messageId: undefined };
  }

  /** The current frame's id, for an error about it. */
  get currentId(): string | undefined {
    return this.#current?.header.id;
  }
}

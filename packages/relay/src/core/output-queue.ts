/**
 * The queue of outputs waiting for `poll()`, shared by the core's sub-machines (each pushes what it
 * decided), with a pool of reusable `forward` outputs and the three shapes of a reply to a request.
 *
 * Forward outputs are the only ones produced per packet, so they come from a pool: an object handed
 * out by `shift()` is reused only after the queue was found empty by a later `shift()` (outputs.ts:
 * a forward output is valid until the next poll()). Everything else is allocated normally.
 */
import type { ErrorCode, ServerMessage } from "@sfu-room/protocol";
import type { ForwardOutput, Output } from "./outputs.ts";
import type { ParticipantId, SubscriptionId } from "./types.ts";

export class OutputQueue {
  private items: (Output | undefined)[] = [];
  private head = 0;
  private tail = 0;
  private readonly forwardPool: ForwardOutput[] = [];
  private forwardsInUse = 0;

  push(output: Output): void {
    this.items[this.tail++] = output;
  }

  /** A protocol message to one participant. */
  signal(participantId: ParticipantId, message: ServerMessage): void {
    this.push({ type: "signal", participantId, message });
  }

  /** The success reply to a request that has no other payload. */
  ok(participantId: ParticipantId, requestId: string): void {
    this.signal(participantId, { type: "ok", id: requestId });
  }

  /** The refusal of a request (with its id), or an error about something that had none (a data frame, an SDP answer). */
  error(participantId: ParticipantId, requestId: string | undefined, code: ErrorCode, message: string): void {
    this.signal(participantId, requestId === undefined ? { type: "error", code, message } : { type: "error", id: requestId, code, message });
  }

  pushForward(
    subscriptionId: SubscriptionId,
    subscriberId: ParticipantId,
    seq: number,
    timestamp: number,
    marker: boolean,
    pictureId: number,
    tl0PicIdx: number,
  ): void {
    let out = this.forwardPool[this.forwardsInUse];
    if (out === undefined) {
      out = { type: "forward", subscriptionId, subscriberId, seq, timestamp, marker, pictureId, tl0PicIdx };
      this.forwardPool.push(out);
    } else {
      out.subscriptionId = subscriptionId;
      out.subscriberId = subscriberId;
      out.seq = seq;
      out.timestamp = timestamp;
      out.marker = marker;
      out.pictureId = pictureId;
      out.tl0PicIdx = tl0PicIdx;
    }
    this.forwardsInUse++;
    this.items[this.tail++] = out;
  }

  /** The next output, or undefined when empty (then every pooled output handed out may be reused). */
  shift(): Output | undefined {
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      this.forwardsInUse = 0;
      return undefined;
    }
    const out = this.items[this.head];
    this.items[this.head++] = undefined;
    return out;
  }

  /** Forward outputs allocated so far (the pool's size: bounded by the largest burst between drains). */
  get pooledForwards(): number {
    return this.forwardPool.length;
  }
}

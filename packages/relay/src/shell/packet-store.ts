/**
 * PacketStore: the bytes behind the core's retransmission history. The last HISTORY_PER_LAYER packets
 * of each layer of each video publication, where the core's `historySlot(layer, seq)` says, so that a
 * `retransmit` output finds the packet it names. One store for all subscribers of a track: a packet is
 * kept once however many receive it (werift kept a clone per sender).
 *
 * The packets are werift's own received objects, never changed after arrival (forwarding writes into a
 * scratch header and copies a payload it rewrites), so keeping a reference is enough.
 */
import type { RtpPacket } from "werift";
import { HISTORY_PER_LAYER, historySlot } from "../core/index.ts";

/** Slots made at once: three simulcast layers (a dense array; more layers grow it). */
const PREALLOCATED = 3 * HISTORY_PER_LAYER;

export class PacketStore {
  readonly #tracks = new Map<string, Array<RtpPacket | undefined>>();

  /** The hot path: a packet of a video track arrived. */
  put(trackId: string, layer: number, packet: RtpPacket): void {
    let slots = this.#tracks.get(trackId);
    if (slots === undefined) {
      slots = new Array<RtpPacket | undefined>(PREALLOCATED).fill(undefined);
      this.#tracks.set(trackId, slots);
    }
    slots[historySlot(layer, packet.header.sequenceNumber)] = packet;
  }

  /** The packet at `slot`, if it is still `seq` (a newer one takes the slot over). */
  get(trackId: string, slot: number, seq: number): RtpPacket | undefined {
    const packet = this.#tracks.get(trackId)?.[slot];
    return packet?.header.sequenceNumber === seq ? packet : undefined;
  }

  /** The track is gone. */
  forget(trackId: string): void {
    this.#tracks.delete(trackId);
  }
}

/** A room: the participants who see each other's tracks. Created on the first join, deleted when empty. */
import type { Participant } from "./participant.ts";
import type { ParticipantId } from "./types.ts";

export class Room {
  /** Members in join order (the order of `joined.participants` and of fan-out). */
  readonly participants = new Map<ParticipantId, Participant>();

  readonly name: string;
  /**
   * This node's own participants in it (not another node's pipe or mirrors; participant.ts): the room
   * starts (room_started) with the first of them and finishes (room_finished) with the last, as far as
   * this node reports, though pipes and mirrors may keep it a moment longer.
   */
  own = 0;
  /** Between its room_started and room_finished. */
  live = false;

  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.participants.size;
  }

  /** Everyone but `except`, in join order. */
  *others(except: Participant): IterableIterator<Participant> {
    for (const p of this.participants.values()) if (p !== except) yield p;
  }

  /** Its participants who are people (not pipes): what a room's capacity counts. */
  get people(): number {
    let n = 0;
    for (const p of this.participants.values()) if (!p.pipe) n++;
    return n;
  }

  /** Everyone but `except` whom the others see (not hidden), in join order: who is announced and listed. */
  *visibleOthers(except: Participant): IterableIterator<Participant> {
    for (const p of this.others(except)) if (!p.grants.hidden) yield p;
  }
}

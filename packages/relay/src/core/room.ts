/** A room: the participants who see each other's tracks. Created on the first join, deleted when empty. */
import type { Participant } from "./participant.ts";
import type { ParticipantId } from "./types.ts";

export class Room {
  /** Members in join order (the order of `joined.participants` and of fan-out). */
  readonly participants = new Map<ParticipantId, Participant>();

  readonly name: string;

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

  /** Everyone but `except` whom the others see (not hidden), in join order: who is announced and listed. */
  *visibleOthers(except: Participant): IterableIterator<Participant> {
    for (const p of this.others(except)) if (!p.grants.hidden) yield p;
  }
}

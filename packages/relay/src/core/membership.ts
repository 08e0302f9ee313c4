/**
 * Membership: rooms and who is in them, and the rules of joining and leaving. A room is created by its
 * first join and deleted with its last member.
 */
import type { JoinInput } from "./inputs.ts";
import type { OutputQueue } from "./output-queue.ts";
import { Participant } from "./participant.ts";
import { Room } from "./room.ts";
import type { CoreConfig, ParticipantId } from "./types.ts";

export class Membership {
  private readonly rooms = new Map<string, Room>();
  private readonly participants = new Map<ParticipantId, Participant>();
  private readonly config: CoreConfig;
  private readonly out: OutputQueue;

  constructor(config: CoreConfig, out: OutputQueue) {
    this.config = config;
    this.out = out;
  }

  /** Joins that said they rejoin after a lost session, since the start (for health and metrics). */
  rejoins = 0;

  get roomCount(): number {
    return this.rooms.size;
  }

  get participantCount(): number {
    return this.participants.size;
  }

  get(id: ParticipantId): Participant | undefined {
    return this.participants.get(id);
  }

  /** Admits the joiner, or sends the refusal and returns undefined (then nothing changed). */
  join(input: JoinInput): Participant | undefined {
    const { participantId, requestId } = input;
    if (this.participants.has(participantId)) {
      this.out.error(participantId, requestId, "already-joined", "this session has already joined a room; leave it first");
      return undefined;
    }
    const existing = this.rooms.get(input.room);
    if (existing !== undefined && existing.size >= this.config.maxParticipantsPerRoom) {
      const max = this.config.maxParticipantsPerRoom;
      this.out.error(participantId, requestId, "room-full", `room "${input.room}" is full (${max} participants); try again later or join another room`);
      return undefined;
    }
    let room = existing;
    if (room === undefined) {
      room = new Room(input.room);
      this.rooms.set(room.name, room);
    }
    const joiner = new Participant(participantId, input.name, room, input.autoSubscribe, input.resumeSecret ?? "", this.config);
    room.participants.set(participantId, joiner);
    if (input.rejoinOf !== undefined) this.rejoins++;
    this.participants.set(participantId, joiner);
    return joiner;
  }

  /** Takes the participant out of its room (the room goes when empty) and tells the others. */
  remove(leaver: Participant): void {
    const room = leaver.room;
    room.participants.delete(leaver.id);
    this.participants.delete(leaver.id);
    if (room.size === 0) this.rooms.delete(room.name);
    for (const other of room.participants.values()) this.out.signal(other.id, { type: "participant-left", participantId: leaver.id });
  }
}

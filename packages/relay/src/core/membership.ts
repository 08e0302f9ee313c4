/**
 * Membership: rooms and who is in them, and the rules of joining and leaving. A room is created by its
 * first join and deleted with its last member.
 */
import type { JoinAccess, JoinInput, RefreshTokenInput } from "./inputs.ts";
import type { OutputQueue } from "./output-queue.ts";
import { Participant } from "./participant.ts";
import { Room } from "./room.ts";
import { roomEvent } from "./room-events.ts";
import { type CoreConfig, type Grants, openGrants, type ParticipantId } from "./types.ts";

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

  /** Every room, in creation order. */
  allRooms(): IterableIterator<Room> {
    return this.rooms.values();
  }

  room(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  /**
   * Admits the joiner, or sends the refusal and returns undefined (then nothing changed). `replacing`:
   * it takes the seat of a session just removed for it, so the room's capacity is not asked again (other
   * nodes' mirrors may have filled the room meanwhile, and the seat must not be lost).
   */
  join(input: JoinInput, replacing = false): Participant | undefined {
    const { participantId, requestId } = input;
    if (this.participants.has(participantId)) {
      this.out.error(participantId, requestId, "already-joined", "this session has already joined a room; leave it first");
      return undefined;
    }
    const access = admission(input);
    if ("refused" in access) {
      this.out.error(participantId, requestId, "unauthorized", access.refused);
      return undefined;
    }
    const presence = input.presence ?? { kind: "local" };
    // A pipe is nobody the others see; a mirror subscribes to nothing here and has no identity here
    // (one session per identity is its own node's rule: a mirror must never replace a local session).
    const grants: Grants = presence.kind === "pipe" ? { ...access.granted, hidden: true } : presence.kind === "mirror" ? { ...access.granted, identity: "", canSubscribe: false } : access.granted;
    const existing = this.rooms.get(input.room);
    // Another node's pipe and mirrors are admitted whatever the count: their people joined on their node.
    if (existing !== undefined && presence.kind === "local" && !replacing && existing.people >= this.config.maxParticipantsPerRoom) {
      const max = this.config.maxParticipantsPerRoom;
      this.out.error(participantId, requestId, "room-full", `room "${input.room}" is full (${max} participants); try again later or join another room`);
      return undefined;
    }
    let room = existing;
    if (room === undefined) {
      room = new Room(input.room);
      this.rooms.set(room.name, room);
    }
    const joiner = new Participant(participantId, grants.name ?? input.name, room, input.autoSubscribe && presence.kind !== "mirror", input.resumeSecret ?? "", grants, this.config, presence);
    room.participants.set(participantId, joiner);
    if (joiner.reported) room.own++;
    if (input.rejoinOf !== undefined) this.rejoins++;
    this.participants.set(participantId, joiner);
    return joiner;
  }

  /** Whether the join would pass the session and token rules (room capacity aside); nothing is sent. */
  admits(input: JoinInput): boolean {
    return !this.participants.has(input.participantId) && !("refused" in admission(input));
  }

  /**
   * A refreshed token: its grants replace the participant's (`ok`; true: the caller withdraws what they
   * no longer allow, see withdrawn-grants.ts), or the refusal is sent and nothing changes. Without keys
   * there are no tokens: `ok`, nothing changes.
   */
  regrant(participant: Participant, input: RefreshTokenInput): boolean {
    const { access, requestId } = input;
    const refused = access === undefined ? undefined : "refused" in access ? access.refused : regrantRefusal(participant, access.granted);
    if (refused !== undefined) {
      this.out.error(participant.id, requestId, "unauthorized", refused);
      return false;
    }
    const regranted = access !== undefined && "granted" in access;
    if (regranted) participant.grants = access.granted;
    this.out.ok(participant.id, requestId);
    return regranted;
  }

  /**
   * Who in the join's room already holds the identity its token names, when the join would be admitted
   * (an open relay's participants have no identity, so nobody): the one session an identity has there.
   */
  holderOfIdentity(input: JoinInput): Participant | undefined {
    if (this.participants.has(input.participantId) || (input.presence !== undefined && input.presence.kind !== "local")) return undefined;
    const access = admission(input);
    if ("refused" in access || access.granted.identity === "") return undefined;
    const { identity } = access.granted;
    for (const p of this.rooms.get(input.room)?.participants.values() ?? []) if (p.grants.identity === identity) return p;
    return undefined;
  }

  /**
   * Takes the participant out of its room and tells the others (unless hidden). The room finishes with
   * its last own participant and goes when empty, unless `keepEmptyRoom` (a join is about to take the
   * place: the join then finds it, still started).
   */
  remove(leaver: Participant, keepEmptyRoom = false): void {
    const room = leaver.room;
    room.participants.delete(leaver.id);
    this.participants.delete(leaver.id);
    if (!leaver.grants.hidden) {
      for (const other of room.participants.values()) if (leaver.shownTo(other)) this.out.signal(other.id, { type: "participant-left", participantId: leaver.id });
    }
    if (leaver.reported) room.own--;
    if (keepEmptyRoom) return;
    if (room.own === 0 && room.live) {
      room.live = false;
      this.out.push(roomEvent("room_finished", room.name));
    }
    if (room.size === 0) this.rooms.delete(room.name);
  }

  /** Whether the joiner's join starts the room (its first own participant): then it is live. */
  starts(joiner: Participant): boolean {
    if (!joiner.reported || joiner.room.live) return false;
    joiner.room.live = true;
    return true;
  }
}

/** The join's grants when they let it into its room (everything, on a relay without keys), or why not. */
function admission(input: JoinInput): JoinAccess {
  const access = input.access ?? { granted: openGrants(input.room) };
  if ("refused" in access) return access;
  const refused = accessRefusal(access.granted, input.room);
  return refused === undefined ? access : { refused };
}

/** Why a refreshed token cannot replace the participant's: it must be the same person in the same room, as seen. */
function regrantRefusal(participant: Participant, next: Grants): string | undefined {
  const joined = participant.grants;
  if (next.identity !== joined.identity) return `the new token is for identity "${next.identity}", this session is "${joined.identity}"; a refresh keeps the identity (join again to change it)`;
  if (next.hidden !== joined.hidden) return `the new token has hidden ${next.hidden}, this session joined with hidden ${joined.hidden}; a refresh cannot change it (join again)`;
  return accessRefusal(next, participant.room.name);
}

function accessRefusal(grants: Grants, room: string): string | undefined {
  if (!grants.roomJoin) return "your token does not allow joining rooms (its video grant has roomJoin false); ask for a token with roomJoin";
  if (grants.room !== room) return `your token is for room "${grants.room}", not "${room}"; ask for a token for this room`;
  return undefined;
}

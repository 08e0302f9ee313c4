/**
 * The server API's rules (docs/api.md): who may do what, and what each method changes and who is told.
 * The HTTP handler (http/server-api.ts) only authenticates the bearer token (signature, times: a
 * request without a valid one never gets here), validates the body and turns it into an `admin` input
 * with the token's grants; the answer comes back as one `admin-reply` output.
 *
 * Access follows LiveKit's grants: `roomList` lists rooms; every other method acts on one room and
 * needs `roomAdmin` with `room` naming that room. The grant is checked before the room, so a token for
 * another room learns nothing about this one (403, never 404).
 *
 * A room spanning nodes (participant.ts) is administered by each node for its own participants: the
 * mirrors of other nodes' participants and the pipes are not this node's to list, count or act on
 * (cluster/cluster-admin.ts asks every node of the room and puts the answers together).
 */
import type { TrackInfo } from "@sfu-room/protocol";
import type { Membership } from "./membership.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Participant } from "./participant.ts";
import type { Publishing } from "./publishing.ts";
import type { Grants, Millis, ParticipantId, TrackId } from "./types.ts";

/** One server API call, validated by the adapter. Participants are named by identity, as in LiveKit. */
export type AdminRequest =
  | { method: "ListRooms"; names?: readonly string[] | undefined }
  | { method: "ListParticipants"; room: string }
  | { method: "RemoveParticipant"; room: string; identity: string }
  | { method: "MutePublishedTrack"; room: string; identity: string; trackId: TrackId; muted: boolean }
  | { method: "UpdateParticipant"; room: string; identity: string; name?: string | undefined; metadata?: string | undefined }
  | { method: "DeleteRoom"; room: string };

export type AdminMethod = AdminRequest["method"];

/** A server API call. Replies one `admin-reply` with this request id. */
export interface AdminInput {
  type: "admin";
  now: Millis;
  requestId: string;
  /** The verified bearer token's grants. */
  grants: Grants;
  request: AdminRequest;
}

export type AdminErrorCode = "forbidden" | "unknown-room" | "unknown-participant" | "unknown-track";

/** A participant as the server API shows them (hidden ones included). */
export interface AdminParticipant {
  id: ParticipantId;
  identity: string;
  name: string;
  metadata?: string;
  hidden: boolean;
  tracks: TrackInfo[];
}

export interface AdminRoom {
  name: string;
  participants: number;
  tracks: number;
}

export type AdminResult =
  | { ok: true; body: { rooms: AdminRoom[] } | { participants: AdminParticipant[] } | { participant: AdminParticipant } | { track: TrackInfo } | Record<string, never> }
  | { ok: false; code: AdminErrorCode; message: string };

/** The answer to the `admin` input with this request id. */
export interface AdminReplyOutput {
  type: "admin-reply";
  requestId: string;
  result: AdminResult;
}

export interface AdministrationParts {
  members: Membership;
  publishing: Publishing;
  out: OutputQueue;
  /** Removes a participant for good at `now`, telling them why (SfuCore's remove, with kick). */
  remove(participant: Participant, reason: string, now: Millis): void;
  /** A participant's info as the room sees it (SfuCore's). */
  infoOf(participant: Participant): { id: string; name: string; metadata?: string; tracks: TrackInfo[] };
}

export class Administration {
  private readonly parts: AdministrationParts;

  constructor(parts: AdministrationParts) {
    this.parts = parts;
  }

  handle(input: AdminInput): void {
    const result = this.result(input);
    this.parts.out.push({ type: "admin-reply", requestId: input.requestId, result });
  }

  private result({ grants, request, now }: AdminInput): AdminResult {
    const refused = accessRefusal(grants, request);
    if (refused !== undefined) return refused;
    const { members, publishing } = this.parts;
    if (request.method === "ListRooms") {
      const rooms: AdminRoom[] = [];
      for (const room of members.allRooms()) {
        if (request.names !== undefined && !request.names.includes(room.name)) continue;
        let tracks = 0;
        let participants = 0;
        for (const p of own(room.participants.values())) {
          participants++;
          tracks += publishing.of(p.id).length;
        }
        if (participants > 0) rooms.push({ name: room.name, participants, tracks });
      }
      return { ok: true, body: { rooms } };
    }
    const room = members.room(request.room);
    if (room === undefined || own(room.participants.values()).length === 0) return fail("unknown-room", `there is no room "${request.room}" on this relay (a room exists while someone is in it); ListRooms shows the rooms`);
    if (request.method === "ListParticipants") return { ok: true, body: { participants: own(room.participants.values()).map((p) => this.adminInfo(p)) } };
    if (request.method === "DeleteRoom") {
      for (const p of own(room.participants.values())) this.parts.remove(p, "the room was closed by the server API", now);
      return { ok: true, body: {} };
    }
    const participant = own(room.participants.values()).find((p) => p.grants.identity === request.identity);
    if (participant === undefined) return fail("unknown-participant", `nobody with identity "${request.identity}" is in room "${request.room}"; ListParticipants shows who is`);
    switch (request.method) {
      case "RemoveParticipant":
        this.parts.remove(participant, "removed from the room by the server API", now);
        return { ok: true, body: {} };
      case "MutePublishedTrack": {
        const pub = publishing.get(request.trackId);
        if (pub === undefined || pub.publisher !== participant) {
          return fail("unknown-track", `"${request.identity}" publishes no track "${request.trackId}"; ListParticipants shows their tracks`);
        }
        if (pub.muted !== request.muted) {
          publishing.mute(pub, request.muted); // tells the others
          // The publisher is told too: the relay muted their track, so their client shows it (and may stop sending).
          this.parts.out.signal(participant.id, { type: "track-muted", trackId: pub.id, participantId: participant.id, muted: request.muted });
        }
        return { ok: true, body: { track: pub.info() } };
      }
      case "UpdateParticipant": {
        if (request.name !== undefined) participant.name = request.name;
        if (request.metadata !== undefined) participant.metadata = request.metadata;
        const update = { type: "participant-updated", participant: this.parts.infoOf(participant) } as const;
        const told = participant.grants.hidden ? [participant] : room.participants.values();
        for (const p of told) this.parts.out.signal(p.id, update);
        return { ok: true, body: { participant: this.adminInfo(participant) } };
      }
    }
  }

  private adminInfo(p: Participant): AdminParticipant {
    return { ...this.parts.infoOf(p), identity: p.grants.identity, hidden: p.grants.hidden };
  }
}

/** This node's own participants (not mirrors of other nodes', not pipes): what its server API is about. */
function own(participants: Iterable<Participant>): Participant[] {
  return [...participants].filter((p) => p.reported);
}

function fail(code: AdminErrorCode, message: string): AdminResult {
  return { ok: false, code, message };
}

/** Why the token may not make this call, or undefined when it may. */
function accessRefusal(granted: Grants, request: AdminRequest): AdminResult | undefined {
  if (request.method === "ListRooms") {
    return granted.roomList ? undefined : fail("forbidden", "ListRooms needs a token whose video grant has roomList true (sfu-relay token --room-list true)");
  }
  if (!granted.roomAdmin) return fail("forbidden", `${request.method} needs a token whose video grant has roomAdmin true for room "${request.room}" (sfu-relay token --room ${request.room} --room-admin true)`);
  if (granted.room !== request.room) return fail("forbidden", `your token administers room "${granted.room}", not "${request.room}"; mint one with video.room "${request.room}"`);
  return undefined;
}

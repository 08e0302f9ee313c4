/**
 * Who receives a participant's data frame, or why nobody does. Everyone else in the room by default,
 * or exactly the listed participants; a list naming anyone who is not in the sender's room delivers
 * to nobody (a partial delivery would be a silent one). Size and rate limits are the sender's alone, and
 * so is the token's `canPublishData`.
 *
 * In a room spanning nodes (participant.ts) a frame of this node's participant reaches the other nodes
 * through their pipes (`relayed`: each pipe once, with the recipients on its node when the frame names
 * some), and a frame that came through a pipe (its sender is a mirror) goes to this node's own
 * participants only: each node delivers to its own, so nothing is delivered twice or loops.
 */
import type { ErrorCode } from "@sfu-room/protocol";
import type { Participant } from "./participant.ts";
import type { DataInput } from "./inputs.ts";
import type { CoreConfig, ParticipantId } from "./types.ts";

/** A frame for another node: sent to its pipe, naming the recipients there (undefined: everyone). */
export interface RelayedData {
  pipe: ParticipantId;
  to: ParticipantId[] | undefined;
}

export type DataRoute = { recipients: ParticipantId[]; relayed: RelayedData[] } | { code: ErrorCode; message: string };

export function routeData(sender: Participant, input: DataInput, config: CoreConfig): DataRoute {
  if (sender.mirrored) return fromMirror(sender, input);
  if (sender.pipe) return { code: "forbidden", message: "a pipe between relay nodes sends no data" };
  if (!sender.grants.canPublishData) {
    return { code: "forbidden", message: "your token does not allow sending data (its video grant has canPublishData false); this frame was dropped" };
  }
  if (input.size > config.maxDataFrameBytes) {
    return {
      code: "data-too-large",
      message: `a data frame of ${input.size} bytes is over the limit of ${config.maxDataFrameBytes}; split the message into parts`,
    };
  }
  if (!sender.dataFrames.take(input.now) || !sender.dataBytes.take(input.now, input.size)) {
    return {
      code: "rate-limited",
      message: `over ${config.dataMessagesPerSecond} data frames or ${config.dataBytesPerSecond} bytes per second; this frame was dropped`,
    };
  }
  const room = sender.room;
  if (input.to === undefined) {
    const recipients: ParticipantId[] = [];
    // One pipe per node: the newest, should a replaced one still be leaving (join order: later wins).
    const pipes = new Map<string, ParticipantId>();
    for (const p of room.others(sender)) {
      if (p.presence.kind === "local") recipients.push(p.id);
      else if (p.presence.kind === "pipe") pipes.set(p.presence.node, p.id);
    }
    return { recipients, relayed: [...pipes.values()].map((pipe) => ({ pipe, to: undefined })) };
  }
  const listed = [...new Set(input.to)];
  const unknown = listed.filter((id) => {
    const p = room.participants.get(id);
    return id === sender.id || p === undefined || p.pipe; // a pipe is nobody to send to
  });
  if (unknown.length > 0) {
    return {
      code: "unknown-participant",
      message: `not delivered to anyone: ${unknown.map((id) => `"${id}"`).join(", ")} ${unknown.length === 1 ? "is" : "are"} not another participant of room "${room.name}"`,
    };
  }
  const recipients: ParticipantId[] = [];
  const byNode = new Map<string, ParticipantId[]>();
  for (const id of listed) {
    const presence = room.participants.get(id)!.presence;
    if (presence.kind !== "mirror") recipients.push(id);
    else byNode.set(presence.origin, [...(byNode.get(presence.origin) ?? []), id]);
  }
  const relayed: RelayedData[] = [];
  for (const [node, to] of byNode) {
    // The newest, should a replaced one still be leaving.
    const pipe = [...room.others(sender)].findLast((p) => p.presence.kind === "pipe" && p.presence.node === node);
    if (pipe === undefined) {
      return { code: "unknown-participant", message: `not delivered to anyone: ${to.map((id) => `"${id}"`).join(", ")} ${to.length === 1 ? "is" : "are"} on relay node ${node}, not connected to this one right now; try again` };
    }
    relayed.push({ pipe: pipe.id, to });
  }
  return { recipients, relayed };
}

/** A frame another node relayed (it checked the sender's grants and limits): to this node's participants it names, or all of them. */
function fromMirror(sender: Participant, input: DataInput): DataRoute {
  const recipients: ParticipantId[] = [];
  for (const p of sender.room.others(sender)) if (p.presence.kind === "local" && (input.to === undefined || input.to.includes(p.id))) recipients.push(p.id);
  return { recipients, relayed: [] };
}

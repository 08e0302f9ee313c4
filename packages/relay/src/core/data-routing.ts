/**
 * Who receives a participant's data frame, or why nobody does. Everyone else in the room by default,
 * or exactly the listed participants; a list naming anyone who is not in the sender's room delivers
 * to nobody (a partial delivery would be a silent one). Size and rate limits are the sender's alone, and
 * so is the token's `canPublishData`.
 */
import type { ErrorCode } from "@sfu-room/protocol";
import type { Participant } from "./participant.ts";
import type { DataInput } from "./inputs.ts";
import type { CoreConfig, ParticipantId } from "./types.ts";

export type DataRoute = { recipients: ParticipantId[] } | { code: ErrorCode; message: string };

export function routeData(sender: Participant, input: DataInput, config: CoreConfig): DataRoute {
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
    for (const p of room.others(sender)) recipients.push(p.id);
    return { recipients };
  }
  const recipients = [...new Set(input.to)];
  const unknown = recipients.filter((id) => id === sender.id || !room.participants.has(id));
  if (unknown.length > 0) {
    return {
      code: "unknown-participant",
      message: `not delivered to anyone: ${unknown.map((id) => `"${id}"`).join(", ")} ${unknown.length === 1 ? "is" : "are"} not another participant of room "${room.name}"`,
    };
  }
  return { recipients };
}

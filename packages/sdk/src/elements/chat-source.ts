/** What <sfu-chat> needs from the room it is attached to: an <sfu-room> element or a headless Room. */
import { Room, type DataEvent, type SendResult } from "../room/index.ts";
import type { SfuRoomElement } from "./sfu-room.ts";

export type ChatTarget = SfuRoomElement | Room;

export interface ChatSource {
  /** In the room, able to send. */
  connected(): boolean;
  /** This client's participant id ("" when not joined). */
  localId(): string;
  /** This client's display name. */
  localName(): string;
  send(text: string, topic: string): Promise<SendResult>;
  /** Calls `onData` for data messages and `onChange` when the connection changes; returns an unsubscribe function. */
  watch(onData: (event: DataEvent) => void, onChange: () => void): () => void;
}

export function chatSource(target: ChatTarget): ChatSource {
  if (target instanceof Room) {
    return {
      connected: () => target.state === "connected" || target.state === "interrupted",
      localId: () => target.local.id,
      localName: () => target.local.name,
      send: (text, topic) => target.send(text, { topic }),
      watch: (onData, onChange) => {
        const offs = [target.on("data", onData), target.on("connection-state", onChange)];
        return () => offs.forEach((off) => off());
      },
    };
  }
  return {
    connected: () => target.status === "joined",
    localId: () => target.session?.local.id ?? "",
    localName: () => target.name,
    send: (text, topic) => target.send(text, { topic }),
    watch: (onData, onChange) => {
      const data = (e: CustomEvent<DataEvent>) => onData(e.detail);
      const change = () => onChange();
      target.addEventListener("data", data);
      // Reconnecting: not connected (sending waits) until resumed or rejoined (a new id).
      const changes = ["joined", "left", "reconnecting", "resumed", "rejoined"] as const;
      for (const type of changes) target.addEventListener(type, change);
      return () => {
        target.removeEventListener("data", data as EventListener);
        for (const type of changes) target.removeEventListener(type, change);
      };
    },
  };
}

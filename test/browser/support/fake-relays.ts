/**
 * A deliberately misbehaving signaling endpoint for error-state tests: it accepts `join`, answers
 * `joined`, then closes the WebSocket after a moment, as a relay that lost the participant (close 1000,
 * "connection lost") or removed it on purpose (close 1008, policy). The room name picks the behaviour:
 * a room starting with "kick" is kicked, any other loses its connection. It keeps no sessions (every
 * `resume` is refused), and a second `join` of a room it dropped has its socket cut before any answer,
 * so a client's reconnecting never succeeds and ends by giving up.
 */
import { WebSocketServer } from "ws";
import { parseClientMessage } from "@sfu-room/protocol";

export interface FakeRelay {
  url: string;
  close(): Promise<void>;
}

export async function startDroppingRelay(): Promise<FakeRelay> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/ws" });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  let n = 0;
  const dropped = new Set<string>();
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const parsed = parseClientMessage(data.toString());
      if (!parsed.ok) return;
      const m = parsed.message;
      if (m.type === "join" && dropped.has(m.room)) {
        ws.terminate();
      } else if (m.type === "join") {
        dropped.add(m.room);
        const resume = { secret: `S${n}`, windowMs: 0 };
        ws.send(JSON.stringify({ type: "joined", id: m.id, participantId: `Pfake${++n}`, room: m.room, participants: [], iceServers: [], resume }));
        const kick = m.room.startsWith("kick");
        setTimeout(() => ws.close(kick ? 1008 : 1000, kick ? "removed by the operator" : "connection lost"), 1_500);
      } else if (m.type === "resume") {
        ws.send(JSON.stringify({ type: "error", id: m.id, code: "resume-refused", message: "This relay keeps no sessions." }));
      } else if (m.type === "publish-offer") {
        // Never answered: the session is dropped before publishing matters.
      } else if ("id" in m && m.id !== undefined) {
        ws.send(JSON.stringify({ type: "ok", id: m.id }));
      }
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

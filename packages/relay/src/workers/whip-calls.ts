/**
 * WHIP/WHEP over IPC: each WhipBackend method (signal/whip-sessions.ts) as a message the primary sends
 * (worker-whip.ts), and the worker's side that runs it on its own WhipSessions (worker-main.ts).
 */
import type { SessionKind, WhepWish, WhipBackend } from "../signal/whip-sessions.ts";

interface OnResource {
  kind: SessionKind;
  room: string;
  resourceId: string;
}

export type WhipCall =
  | { method: "publish"; room: string; name: string; token: string | undefined; offer: string }
  | { method: "view"; room: string; token: string | undefined; offer: string; wish: WhepWish }
  | ({ method: "etag" } & OnResource)
  | ({ method: "restartIce"; ufrag: string; pwd: string } & OnResource)
  | ({ method: "end" } & OnResource);

/** What a call answers: its WhipBackend method's result. */
export type WhipCallResult<C extends WhipCall> = Awaited<ReturnType<WhipBackend[C["method"]]>>;

/** The worker's side: the call, on this worker's sessions. */
export function runWhipCall(sessions: WhipBackend, call: WhipCall): Promise<unknown> {
  switch (call.method) {
    case "publish":
      return sessions.publish(call.room, call.name, call.token, call.offer);
    case "view":
      return sessions.view(call.room, call.token, call.offer, call.wish);
    case "etag":
      return sessions.etag(call.kind, call.room, call.resourceId);
    case "restartIce":
      return sessions.restartIce(call.kind, call.room, call.resourceId, call.ufrag, call.pwd);
    case "end":
      return sessions.end(call.kind, call.room, call.resourceId);
  }
}

/**
 * The messages between the nodes of a cluster (docs/scale.md), published as JSON on the receiving
 * node's Redis channel (node-bus.ts). A signaling session is kept by the node whose WebSocket it
 * arrived on (its origin) and run by the node holding its room (its host): the origin forwards the
 * session's messages, the host sends back what the SFU says to it. A session is named by its origin's
 * id and the key the origin minted for it. One publishing connection per node keeps order: every `send`
 * a message caused arrives before its `handled`, as over a worker's IPC channel (workers/ipc-protocol.ts).
 */
import type { ClientMessage, ServerMessage } from "@sfu-room/protocol";
import type { AdminRequest, AdminResult, Grants } from "../core/index.ts";

export type NodeMessage =
  // origin -> host
  /**
   * A session placed in `room`, which this host holds; `pipe`: the origin's pipe into the room here
   * (--cluster-rooms span, spanning-rooms.ts): it joins as one, receiving this host's participants' tracks.
   */
  | { type: "open"; from: string; session: string; room: string; pipe?: true }
  /** A validated client message; answered by `handled` with the same `seq`. */
  | { type: "message"; from: string; session: string; seq: number; message: ClientMessage }
  /** The session's WebSocket closed (or it moved to another node). */
  | { type: "closed"; from: string; session: string }
  // host -> origin
  | { type: "send"; from: string; session: string; message: ServerMessage }
  /** The SFU ended the session: `close` (the client may come back), `kick` (it must not), `lost` (reconnect). */
  | { type: "end"; from: string; session: string; how: "close" | "kick" | "lost"; reason: string }
  /** `error`: handling threw (a relay bug): the origin answers `internal` as it would in one process. */
  | { type: "handled"; from: string; session: string; seq: number; error?: string }
  // server API (cluster-admin.ts)
  /** A server API call (its grants verified by the node the HTTP request reached) for this node's SFU. */
  | { type: "admin"; from: string; seq: number; grants: Grants; request: AdminRequest }
  | { type: "admin-reply"; from: string; seq: number; result: AdminResult }
  // either way
  /** --cluster-rooms span: the sender has participants of its own in `room` now (pipe to it, without waiting for a heartbeat). */
  | { type: "span"; from: string; room: string }
  /** The sending node is stopping: its sessions, either side, are over. */
  | { type: "stopping"; from: string };

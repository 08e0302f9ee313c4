/**
 * WHIP and WHEP on a node of a cluster: a POST is run here when this node holds the room or becomes
 * its holder (the room is held while the call runs, and then for as long as it lives); a room held by
 * another node is refused with 409 naming that node, as an HTTP resource cannot be proxied the way a
 * WebSocket session is (docs/scale.md). PATCH and DELETE go to the session's resource, which lives here.
 */
import type { WhepWish, WhipBackend, WhipPublished, WhipRefusal } from "../signal/whip-sessions.ts";
import type { ClusterNode } from "./cluster-node.ts";

export function clusterWhip(local: WhipBackend, cluster: ClusterNode): WhipBackend {
  const here = async (room: string, call: () => Promise<WhipPublished | WhipRefusal>): Promise<WhipPublished | WhipRefusal> => {
    const holder = await cluster.holdHere(room);
    if (holder !== undefined) {
      return {
        status: 409, error: "room-on-another-node",
        message: holder === "unreachable"
          ? "the relay could not reach its room directory (Redis); try again"
          : holder === "stopping"
            ? "this relay node is stopping; try again (another node takes the room)"
            : `room "${room}" is held by relay node ${holder}: send WHIP/WHEP for it to that node (docs/scale.md)`,
      };
    }
    try {
      return await call();
    } finally {
      cluster.unhold(room);
    }
  };
  return {
    publish: (room, name, token, offer) => here(room, () => local.publish(room, name, token, offer)),
    view: (room, token, offer, wish: WhepWish) => here(room, () => local.view(room, token, offer, wish)),
    etag: (kind, room, resourceId) => local.etag(kind, room, resourceId),
    restartIce: (kind, room, resourceId, ufrag, pwd) => local.restartIce(kind, room, resourceId, ufrag, pwd),
    end: (kind, room, resourceId) => local.end(kind, room, resourceId),
  };
}

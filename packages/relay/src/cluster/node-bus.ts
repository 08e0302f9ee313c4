/**
 * Node-to-node messages over Redis pub/sub: each node subscribes to its own channel and publishes to
 * the others' on one connection (so what one node sends another arrives in order). Pub/sub delivers
 * only to a node listening now: a message to a dead node is lost, which the sender learns from the
 * node registry (cluster-node.ts) and handles as the node's loss.
 */
import type { Logger } from "pino";
import type { NodeMessage } from "./cluster-protocol.ts";
import { BUS_CHANNEL, type RedisClient } from "./cluster-store.ts";

export class NodeBus {
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #onError: (e: Error) => void;

  private constructor(publisher: RedisClient, subscriber: RedisClient, onError: (e: Error) => void) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#onError = onError;
  }

  /** Listens on `nodeId`'s channel (`subscriber` must be a connection of its own: a subscribed one sends nothing else). */
  /** `onError`: a publish failed (Redis unreachable: the node logs that once per outage). */
  static async listen(
    publisher: RedisClient, subscriber: RedisClient, nodeId: string, log: Logger, onMessage: (m: NodeMessage) => void, onError: (e: Error) => void,
  ): Promise<NodeBus> {
    await subscriber.subscribe(BUS_CHANNEL + nodeId, (raw) => {
      // Only nodes publish here (Redis is the cluster's own, docs/scale.md): what is not a node message is someone else's mistake.
      let message: NodeMessage;
      try {
        message = JSON.parse(raw) as NodeMessage;
      } catch (e) {
        log.error({ err: e }, "a message on this node's channel that is not JSON; ignored");
        return;
      }
      if (typeof message !== "object" || message === null || typeof message.type !== "string" || typeof message.from !== "string") {
        log.error({ raw: raw.slice(0, 200) }, "a message on this node's channel that is not a node message; ignored");
        return;
      }
      onMessage(message);
    });
    return new NodeBus(publisher, subscriber, onError);
  }

  /**
   * Publishes to `node`'s channel: resolves true once Redis has handed it to the node, false when it
   * could not (Redis unreachable: reported; or nobody listens on that channel: the node is gone).
   */
  send(node: string, message: NodeMessage): Promise<boolean> {
    return this.#publisher.publish(BUS_CHANNEL + node, JSON.stringify(message)).then(
      (receivers) => receivers > 0,
      (e: Error) => {
        this.#onError(e);
        return false;
      },
    );
  }

  async close(): Promise<void> {
    await this.#subscriber.unsubscribe().catch(() => {});
  }
}

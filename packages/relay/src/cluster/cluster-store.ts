/**
 * What the nodes of a cluster share in Redis (docs/scale.md), and the only place that knows its keys:
 *
 * - `sfu-room:node:<id>`: a node's registry entry (JSON: when it started, its sessions), with a TTL the
 *   node renews on each heartbeat. A node whose entry has expired is dead.
 * - `sfu-room:room:<name>`: which node holds the room, set if absent (the first node to place a session
 *   in the room wins), renewed by its node on each heartbeat, deleted by it when the room ends or the
 *   node stops. An entry naming a dead node is taken over by the next node placing a session there.
 * - `sfu-room:span:<name>` (--cluster-rooms span): the set of nodes with participants of their own in
 *   the room, each of which pipes its participants' tracks to the others (spanning-rooms.ts). Every
 *   member renews the set's TTL on each heartbeat and drops members without a registry entry; a node
 *   leaves it when its last participant there goes, so the set is gone with the room's last node.
 * - `sfu-room:bus:<id>`: the node's pub/sub channel (node-bus.ts).
 *
 * The scripts read and write more than one key at a time, so this is for one Redis server (or a
 * primary with replicas), not Redis Cluster.
 */
import type { createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

const PREFIX = "sfu-room:";
export const NODE_KEY = `${PREFIX}node:`;
export const ROOM_KEY = `${PREFIX}room:`;
export const SPAN_KEY = `${PREFIX}span:`;
export const BUS_CHANNEL = `${PREFIX}bus:`;

/** A node's registry entry. */
export interface NodeEntry {
  startedAt: number;
  /** Signaling sessions on the node's WebSockets. */
  sessions: number;
  /** Rooms the node holds. */
  rooms: number;
}

/**
 * The room's entry is set to this node when absent, or when it names a node without a registry entry
 * (dead): returns the node that holds the room now. KEYS[1] the room's key; ARGV: this node, the TTL
 * (ms), the registry's key prefix.
 */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return owner
end
if owner == false or redis.call('EXISTS', ARGV[3] .. owner) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return owner`;

/**
 * Renews every key in KEYS that names this node (ARGV[1]) for ARGV[2] ms, and sets those that are gone
 * (a release racing a new placement here deleted one): returns those that name another node.
 */
const RENEW = `
local lost = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2])
  elseif owner == false then redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else table.insert(lost, key) end
end
return lost`;

/** Deletes every key in KEYS that names this node (ARGV[1]). */
const RELEASE = `
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

/**
 * Adds this node (ARGV[1]) to the spanning room's set (KEYS[1]), renews the set for ARGV[2] ms, drops
 * the members without a registry entry (prefix ARGV[3]): returns the members, this node among them.
 */
const SPAN = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local live = {}
for i, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if node == ARGV[1] or redis.call('EXISTS', ARGV[3] .. node) == 1 then table.insert(live, node)
  else redis.call('SREM', KEYS[1], node) end
end
return live`;

export class ClusterStore {
  readonly #redis: RedisClient;
  readonly #nodeId: string;
  readonly #ttlMs: number;

  constructor(redis: RedisClient, nodeId: string, ttlMs: number) {
    this.#redis = redis;
    this.#nodeId = nodeId;
    this.#ttlMs = ttlMs;
  }

  /** Writes (and renews) this node's registry entry. */
  async heartbeat(entry: NodeEntry): Promise<void> {
    await this.#redis.set(NODE_KEY + this.#nodeId, JSON.stringify(entry), { expiration: { type: "PX", value: this.#ttlMs } });
  }

  /** The node holding `room` now: this node if the room had no live holder. */
  async claim(room: string): Promise<string> {
    return String(await this.#redis.eval(CLAIM, { keys: [ROOM_KEY + room], arguments: [this.#nodeId, String(this.#ttlMs), NODE_KEY] }));
  }

  /** The node holding `room`, or undefined (nobody does). */
  async holder(room: string): Promise<string | undefined> {
    return (await this.#redis.get(ROOM_KEY + room)) ?? undefined;
  }

  /** Renews this node's rooms; returns those another node holds now (it took them over: this node was thought dead). */
  async renew(rooms: readonly string[]): Promise<string[]> {
    if (rooms.length === 0) return [];
    const lost = (await this.#redis.eval(RENEW, { keys: rooms.map((r) => ROOM_KEY + r), arguments: [this.#nodeId, String(this.#ttlMs)] })) as string[];
    return lost.map((key) => key.slice(ROOM_KEY.length));
  }

  async release(rooms: readonly string[]): Promise<void> {
    if (rooms.length === 0) return;
    await this.#redis.eval(RELEASE, { keys: rooms.map((r) => ROOM_KEY + r), arguments: [this.#nodeId] });
  }

  /** This node is (still) in the spanning room: the room's live nodes, this one included. */
  async span(room: string): Promise<string[]> {
    return (await this.#redis.eval(SPAN, { keys: [SPAN_KEY + room], arguments: [this.#nodeId, String(this.#ttlMs), NODE_KEY] })) as string[];
  }

  /** The nodes with participants of their own in the spanning room (those without a registry entry left out). */
  async spanNodes(room: string): Promise<string[]> {
    const members = await this.#redis.sMembers(SPAN_KEY + room);
    const dead = new Set(await this.dead(members));
    return members.filter((n) => !dead.has(n));
  }

  /** This node has nobody of its own in these spanning rooms any more. */
  async unspan(rooms: readonly string[]): Promise<void> {
    for (const room of rooms) await this.#redis.sRem(SPAN_KEY + room, this.#nodeId);
  }

  /** Of `nodes`, those with no registry entry (stopped, or silent for longer than the TTL). */
  async dead(nodes: readonly string[]): Promise<string[]> {
    if (nodes.length === 0) return [];
    const entries = await this.#redis.mGet(nodes.map((n) => NODE_KEY + n));
    return nodes.filter((_, i) => entries[i] === null);
  }

  /** Removes this node's registry entry (a graceful stop). */
  async leave(): Promise<void> {
    await this.#redis.del(NODE_KEY + this.#nodeId);
  }

  /** Every node's registry entry, by id (for /health). */
  async nodes(): Promise<Map<string, NodeEntry>> {
    const keys: string[] = [];
    for await (const batch of this.#redis.scanIterator({ MATCH: `${NODE_KEY}*`, COUNT: 100 })) keys.push(...batch);
    if (keys.length === 0) return new Map();
    const values = await this.#redis.mGet(keys);
    const nodes = new Map<string, NodeEntry>();
    keys.forEach((key, i) => {
      const v = values[i];
      if (v != null) nodes.set(key.slice(NODE_KEY.length), JSON.parse(v) as NodeEntry);
    });
    return nodes;
  }
}

/**
 * The impairment forwarder's datagram plumbing, in a worker thread so that its timers do not wait on
 * the relay or the browsers' drivers in the main thread (see forwarder.ts for the API and the model).
 * Each route is a UDP socket that relays every datagram it gets to a target; each client of a route
 * gets its own upstream socket, so the target sees one address per client and answers through it.
 * A datagram from A to B passes A's uplink, then B's downlink (links keyed "ip:port" or "ip").
 */
import { createSocket, type Socket } from "node:dgram";
import { parentPort } from "node:worker_threads";
import { Link, type LinkConditions, type LinkCounters } from "./link.ts";

export interface Endpoint {
  address: string;
  port: number;
}

export type Request =
  | { op: "route"; listen: Endpoint; target: Endpoint }
  | { op: "set"; key: string; direction: "up" | "down"; conditions: LinkConditions }
  | { op: "counters" }
  | { op: "close" };

export type LinkReport = Record<string, { up: LinkCounters & { conditions: LinkConditions }; down: LinkCounters & { conditions: LinkConditions } }>;

const links = new Map<string, { up: Link; down: Link }>();
const sockets: Socket[] = [];
/** Set by close: datagrams still delayed or queued are dropped, not sent on closed sockets. */
let closed = false;

const linkOf = (address: string, port: number) => links.get(`${address}:${port}`) ?? links.get(address);

/** Sends `data` from `from` to `to` once the links on the way let it through (or never). */
function carry(data: Buffer, from: Endpoint, to: Endpoint, send: (data: Buffer) => void): void {
  const stages = [linkOf(from.address, from.port)?.up, linkOf(to.address, to.port)?.down].filter((l): l is Link => l !== undefined);
  const step = (i: number): void => {
    if (closed) return;
    if (i === stages.length) return send(data);
    const now = performance.now();
    const out = stages[i]!.admit(data.length, now);
    if (out === undefined) return;
    if (out <= now) step(i + 1);
    else setTimeout(() => step(i + 1), out - now);
  };
  step(0);
}

function bind(socket: Socket, endpoint: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(endpoint.port, endpoint.address, () => {
      socket.off("error", reject);
      // A send to a closed port (ICMP unreachable) must not stop the forwarder.
      socket.on("error", () => undefined);
      resolve();
    });
  });
}

/** Resolves with the port it listens on (`listen.port` 0: one the system chose). */
async function addRoute(listen: Endpoint, target: Endpoint): Promise<number> {
  const front = createSocket("udp4");
  await bind(front, listen);
  sockets.push(front);
  const upstreams = new Map<string, Socket>();
  front.on("message", (data, client) => {
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      const socket = (upstream = createSocket("udp4"));
      upstreams.set(key, socket);
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.on("message", (reply, source) => {
        if (source.address !== target.address || source.port !== target.port) return;
        carry(reply, target, client, (d) => front.send(d, client.port, client.address));
      });
      socket.bind(0);
    }
    const socket = upstream;
    carry(data, client, target, (d) => socket.send(d, target.port, target.address));
  });
  return front.address().port;
}

function report(): LinkReport {
  const out: LinkReport = {};
  for (const [key, { up, down }] of links) out[key] = { up: { ...up.counters, conditions: up.conditions }, down: { ...down.counters, conditions: down.conditions } };
  return out;
}

parentPort!.on("message", async ({ id, request }: { id: number; request: Request }) => {
  try {
    let result: unknown;
    if (request.op === "route") result = await addRoute(request.listen, request.target);
    else if (request.op === "set") {
      const link = links.get(request.key) ?? { up: new Link(), down: new Link() };
      links.set(request.key, link);
      link[request.direction].set(request.conditions);
    } else if (request.op === "counters") result = report();
    else {
      closed = true;
      for (const s of sockets) s.close();
      sockets.length = 0;
    }
    parentPort!.postMessage({ id, result });
  } catch (e) {
    parentPort!.postMessage({ id, error: (e as Error).message });
  }
});

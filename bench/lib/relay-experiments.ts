/**
 * Candidate fixes measured without touching the relay's code: applied inside the relay's process by
 * bench/relay-server.ts when the harness asks for them (`--experiments`), by replacing Node built-ins
 * that werift calls (module.syncBuiltinESMExports updates werift's named imports).
 *
 * - keyobject-cache: werift's SRTP calls crypto.createCipheriv / createDecipheriv / createHmac once per
 *   packet with the session key as a Buffer. On Node 24 that costs ~5x more than with a KeyObject made
 *   once (measured here: AES-128-CTR ~23 us vs ~5 us, HMAC-SHA1 ~23 us vs ~4.5 us per 1.1 kB packet).
 *   This caches one KeyObject per key Buffer (werift passes the same Buffer every time).
 *   The real fix belongs in werift's SRTP cipher classes (patches/werift@0.25.2.patch):
 *   createSecretKey() once in the constructor.
 * - rcvbuf: werift never enlarges its UDP receive buffers (212 kB by default, ~90 packets of 1.1 kB);
 *   this sets 4 MB on every UDP socket once it is bound. The real fix: the relay calls
 *   setRecvBufferSize on its sockets, or werift gets an option for it.
 * - dedupe: the core's SequenceRewriter.rewrite forwards duplicates ("Reordered or duplicate: still
 *   forwarded"). Under load werift's receiver NACKs packets that were only late, the publisher
 *   resends them, and every subscriber gets them twice. This drops an input sequence number a
 *   subscription already forwarded (a bit per seq, a sliding half-space window, reset at a layer
 *   start). The real fix belongs in packages/relay/src/core/sequence-rewriter.ts (or once per
 *   publication, before the fan-out).
 */
import crypto, { type KeyObject } from "node:crypto";
import dgram from "node:dgram";
import { syncBuiltinESMExports } from "node:module";

export const EXPERIMENTS = ["keyobject-cache", "rcvbuf", "dedupe"] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/** `dedupe` patches the relay's core; only the relay's process may ask for it. */
export async function applyRelayExperiments(list: string[]): Promise<string[]> {
  const applied = applyExperiments(list);
  if (list.includes("dedupe")) {
    const { SequenceRewriter } = await import("@sfu-room/relay/core");
    type Rewriter = InstanceType<typeof SequenceRewriter> & { benchSeen?: Uint8Array };
    const proto = SequenceRewriter.prototype as Rewriter;
    const rewrite = proto.rewrite;
    const startLayer = proto.startLayer;
    proto.startLayer = function (this: Rewriter) {
      this.benchSeen?.fill(0);
      startLayer.call(this);
    };
    proto.rewrite = function (this: Rewriter, seq: number, timestamp: number, now: number, clockRate: number) {
      const seen = (this.benchSeen ??= new Uint8Array(8192));
      const bit = 1 << (seq & 7);
      if (seen[seq >> 3]! & bit) return false; // forwarded already: a duplicate
      if (!rewrite.call(this, seq, timestamp, now, clockRate)) return false;
      seen[seq >> 3]! |= bit;
      const far = (seq + 32768) & 0xffff; // keep a sliding window: forget the seq half the space away
      seen[far >> 3]! &= ~(1 << (far & 7));
      return true;
    };
    applied.push("dedupe");
  }
  return applied;
}

export function applyExperiments(list: string[]): string[] {
  const applied: string[] = [];
  if (list.includes("keyobject-cache")) {
    const keys = new WeakMap<Buffer, KeyObject>();
    const keyOf = (key: unknown) => {
      if (!Buffer.isBuffer(key)) return key;
      let k = keys.get(key);
      if (!k) {
        k = crypto.createSecretKey(key);
        keys.set(key, k);
      }
      return k;
    };
    const { createCipheriv, createDecipheriv, createHmac } = crypto;
    // Cached by Buffer identity: werift never mutates its session keys.
    (crypto as { createCipheriv: unknown }).createCipheriv = (alg: string, key: unknown, iv: unknown, opts?: unknown) =>
      (createCipheriv as (...a: unknown[]) => unknown)(alg, keyOf(key), iv, opts);
    (crypto as { createDecipheriv: unknown }).createDecipheriv = (alg: string, key: unknown, iv: unknown, opts?: unknown) =>
      (createDecipheriv as (...a: unknown[]) => unknown)(alg, keyOf(key), iv, opts);
    (crypto as { createHmac: unknown }).createHmac = (alg: string, key: unknown, opts?: unknown) =>
      (createHmac as (...a: unknown[]) => unknown)(alg, keyOf(key), opts);
    applied.push("keyobject-cache");
  }
  if (list.includes("rcvbuf")) {
    const { createSocket } = dgram;
    (dgram as { createSocket: unknown }).createSocket = (...args: unknown[]) => {
      const socket = (createSocket as (...a: unknown[]) => dgram.Socket)(...args);
      socket.once("listening", () => {
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
        } catch {
          // not permitted: keep the default
        }
      });
      return socket;
    };
    applied.push("rcvbuf");
  }
  syncBuiltinESMExports();
  return applied;
}

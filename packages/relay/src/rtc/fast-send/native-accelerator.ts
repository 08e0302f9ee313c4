/**
 * The optional native accelerator of the fast path (packages/relay/native/fast_send.c, built by
 * scripts/bootstrap.sh when a C compiler is present): SRTP protection and the datagram's send in one
 * call (and the receive side's unprotection in another), about a third of the JavaScript path's CPU per packet (7 vs 21 µs for a 1200-byte payload on
 * this machine, protect and send on loopback), the protection and send of forwarded packets on a thread
 * of the module's own (queueSend). Without it, or with `--native-send off`, SubscriberPath
 * protects with media/srtp-cipher.ts and sends through Node's socket: the same bytes on the wire (tested,
 * test/relay/native-fast-send.test.ts).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import type { Socket } from "node:dgram";
import { fileURLToPath } from "node:url";
import { type SrtpCipher, type SrtpProfileName, type SrtpSessionKeys, SrtpUnprotectError } from "../../media/srtp-cipher.ts";
import type { RolloverCounter } from "../../media/srtp-rollover.ts";

/** One SRTP session's sending state inside the module (an N-API External). */
export type NativeSession = { readonly __nativeSession: unique symbol };

/** The module's functions (see fast_send.c for each). */
interface NativeModule {
  session(profile: number, key: Buffer, salt: Buffer, authKey: Buffer | undefined, receiving: boolean): NativeSession;
  unprotect(session: NativeSession, data: Buffer, roc: number): Buffer | null;
  protect(session: NativeSession, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number): number;
  protectSend(session: NativeSession, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number, destination: NativeDestination): number;
  queueSend(session: NativeSession, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number, destination: NativeDestination, transportSeq: number): number;
  departures(destination: NativeDestination, seqs: Int32Array, out: Float64Array): void;
  monotonicMs(): number;
  flush(timeoutMs?: number): boolean;
  stop(): void;
  sendCounts(): { sent: number; failed: number };
  /** The longest RTP packet queueSend takes (its ring's slot, less the tag). */
  readonly queueLimit: number;
  destination(fd: number, host: string, port: number, ipv6Socket: boolean): NativeDestination;
  closeDestination(destination: NativeDestination): void;
}

const PROFILE_IDS: Record<SrtpProfileName, number> = { "aes-cm-128-hmac-sha1-80": 1, "aead-aes-128-gcm": 2 };

/**
 * Where scripts/build-native.mjs builds it: packages/relay/native/build, found from this file in the
 * source tree (src/rtc/fast-send/) and from the bundled chunks of an installed package (dist/), whose
 * `install` script builds it there.
 */
const MODULE_PATHS = ["../../../native/build/fast_send.node", "../native/build/fast_send.node"].map((p) => fileURLToPath(new URL(p, import.meta.url)));

export class NativeAccelerator {
  readonly #module: NativeModule;

  /** performance.now() less the module's CLOCK_MONOTONIC (both the same clock: libuv's hrtime is CLOCK_MONOTONIC). */
  readonly #clockOffset: number;

  constructor(module: NativeModule) {
    this.#module = module;
    this.#clockOffset = performance.now() - module.monotonicMs();
  }

  /** The sending state of an SRTP session (for protect and protectSend). */
  session(keys: SrtpSessionKeys): NativeSession {
    return this.#module.session(PROFILE_IDS[keys.profile], keys.key, keys.salt, keys.authKey, false);
  }

  /**
   * The receive half, as SrtpCipher.unprotect does it (the same rollover handling, the same errors):
   * decryption and authentication in one native call (rtc/srtp-receive.ts).
   */
  unprotector(keys: SrtpSessionKeys): Pick<SrtpCipher, "unprotect"> {
    const module = this.#module;
    const session = module.session(PROFILE_IDS[keys.profile], keys.key, keys.salt, keys.authKey, true);
    return {
      unprotect(data: Buffer, rollover: RolloverCounter): Buffer {
        if (data.length < 12) throw new SrtpUnprotectError("not an SRTP packet");
        const seq = data.readUInt16BE(2);
        const roc = rollover.estimate(seq);
        const plain = module.unprotect(session, data, roc);
        if (plain === null) throw new SrtpUnprotectError("SRTP authentication failed");
        rollover.update(seq, roc);
        return plain;
      },
    };
  }

  /** Protects in place, as SrtpCipher.protect does (the same layout and result). */
  protect(session: NativeSession, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number): number {
    return this.#module.protect(session, buf, headerLength, length, ssrc, seq, roc);
  }

  /**
   * Protects and sends on `destination` now, on the event loop's thread: the SRTP packet's length;
   * negative (-errno) when the send failed, the packet protected at buf[SRTP_HEADROOM] all the same.
   */
  protectSend(session: NativeSession, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number, destination: NativeDestination): number {
    return this.#module.protectSend(session, buf, headerLength, length, ssrc, seq, roc, destination);
  }

  /**
   * Protects and sends on `destination` on the module's sender thread (fast_send.c says why): the
   * packet is copied, `buf` is free again on return; the SRTP packet's length it will have, or -EAGAIN
   * when the queue stayed full for 2 ms (the packet dropped). Packets to one destination leave in the
   * order queued; a send the socket refuses is dropped and counts in sendCounts(). Packets up to
   * `queueLimit` bytes.
   */
  queueSend(session: NativeSession, buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number, destination: NativeDestination, transportSeq = -1): number {
    return this.#module.queueSend(session, buf, headerLength, length, ssrc, seq, roc, destination, transportSeq);
  }

  /**
   * When the sender thread sent the packets with transport-wide seqs `seqs[0, count)` to
   * `destination` (queueSend's `transportSeq`): into `out`, in performance.now() ms, or -1 where it
   * has no record. The transport-cc feedback's send times: a packet leaves after the ones queued
   * before it, and its enqueue time would count that wait as network delay.
   */
  departures(destination: NativeDestination, seqs: Int32Array, out: Float64Array, count: number): void {
    this.#module.departures(destination, seqs.subarray(0, count), out);
    for (let k = 0; k < count; k++) if (out[k]! >= 0) out[k]! += this.#clockOffset;
  }

  /** The longest RTP packet queueSend takes; a longer one goes through protectSend. */
  get queueLimit(): number {
    return this.#module.queueLimit;
  }

  /** Whether the sender thread has sent everything queued so far, waiting for it up to `timeoutMs` (default: as long as it takes). */
  flush(timeoutMs?: number): boolean {
    return this.#module.flush(timeoutMs);
  }

  /** Datagrams the sender thread sent and could not send (socket errors), since the process started. */
  sendCounts(): { sent: number; failed: number } {
    return this.#module.sendCounts();
  }

  /**
   * Where datagrams to host:port on `socket` go: a duplicate of the socket's descriptor (so a
   * descriptor werift closes and the kernel reuses is never written to) and the peer's sockaddr, made
   * once per candidate pair. Undefined: the socket has no descriptor (closed), or a scoped address.
   * Give it up with closeDestination().
   */
  destination(socket: Socket, host: string, port: number): NativeDestination | undefined {
    const handle = udpHandle(socket);
    if (handle === undefined || typeof handle.fd !== "number" || handle.fd < 0) return undefined;
    try {
      return this.#module.destination(handle.fd, host, port, socket.address().family === "IPv6");
    } catch {
      return undefined;
    }
  }

  /** No more packets for `destination`: its descriptor closes once those queued are sent. */
  closeDestination(destination: NativeDestination): void {
    this.#module.closeDestination(destination);
  }
}

/** A socket's duplicated descriptor and a peer's sockaddr, inside the module (an N-API External). */
export type NativeDestination = { readonly __nativeDestination: unique symbol };

/**
 * Node's UDP handle of a dgram socket, through the socket's internal state (the `_handle` getter is
 * deprecated and warns): its `fd` is the descriptor libuv sends on.
 */
function udpHandle(socket: Socket): { fd?: number } | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol");
  return state === undefined ? undefined : ((socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[state]?.handle ?? undefined);
}

/** Whether the relay uses the accelerator: when built ("auto"), always ("on": the relay refuses to start without it), never. */
export type NativeSendMode = "auto" | "on" | "off";

export class NativeAcceleratorMissingError extends Error {}

let loaded: { accelerator: NativeAccelerator | undefined; why: string } | undefined;

/** Loads the module once per process; `why`: what kept it out (not built, failed to load). */
export function loadNativeAccelerator(): { accelerator: NativeAccelerator | undefined; why: string } {
  if (loaded !== undefined) return loaded;
  const path = MODULE_PATHS.find((p) => existsSync(p));
  if (path === undefined) {
    loaded = { accelerator: undefined, why: "native/build/fast_send.node is not built (the set-up step and the package's install script build it when a C compiler is present)" };
    return loaded;
  }
  try {
    const module = createRequire(import.meta.url)(path) as NativeModule;
    // process.exit() does not wait for the sender thread: it sends what is queued and ends first.
    process.once("exit", () => module.stop());
    loaded = { accelerator: new NativeAccelerator(module), why: "loaded" };
  } catch (error) {
    loaded = { accelerator: undefined, why: `${path} did not load: ${(error as Error).message}` };
  }
  return loaded;
}

/** The accelerator `mode` asks for; throws NativeAcceleratorMissingError for "on" without one. */
export function nativeAcceleratorFor(mode: NativeSendMode): NativeAccelerator | undefined {
  if (mode === "off") return undefined;
  const { accelerator, why } = loadNativeAccelerator();
  if (accelerator === undefined && mode === "on") throw new NativeAcceleratorMissingError(`--native-send on, but the native accelerator is missing: ${why}`);
  return accelerator;
}

/**
 * The two negotiated data channels of the subscriber connection (docs/protocol.md, 7.5): created on
 * the first subscriber offer, after setRemoteDescription and before createAnswer (`attach`).
 *
 * Sending respects the channels' buffers: on the reliable channel, frames wait for `bufferedamountlow`
 * whenever more than RELIABLE_HIGH_WATER bytes are queued (a big message never overfills the SCTP
 * buffer, which would close the channel); on the lossy channel a message is dropped when more than
 * LOSSY_HIGH_WATER bytes are queued (waiting would only add latency to data meant to be fresh).
 *
 * While the Room reconnects, reliable messages are held, in order, and sent on the same channel when
 * the session is resumed (the subscriber connection carrying the channels is kept); a rejoin replaces
 * the channels, and the held messages are rejected instead, never sent twice. Lossy ones are dropped.
 */
import { DATA_CHANNELS } from "@sfu-room/protocol";
import { RoomError } from "./errors.ts";

export const RELIABLE_HIGH_WATER = 1024 * 1024;
export const RELIABLE_LOW_WATER = 256 * 1024;
export const LOSSY_HIGH_WATER = 64 * 1024;
/** How long a send waits for the channels to open before giving up. */
export const OPEN_TIMEOUT_MS = 15_000;

export type SendResult = "sent" | "dropped";

export class DataChannels {
  #reliable: RTCDataChannel | undefined;
  #lossy: RTCDataChannel | undefined;
  #closed = false;
  /** Reliable frames are handed over strictly in order, one message after the other. */
  #reliableQueue: Promise<unknown> = Promise.resolve();
  /** Set while reconnecting: reliable sends wait for it. */
  #held: { promise: Promise<void>; release: () => void; reject: (error: RoomError) => void } | undefined;
  readonly #attached: Promise<void>;
  #resolveAttached!: () => void;
  readonly #onFrame: (reliable: boolean, bytes: Uint8Array) => void;

  constructor(onFrame: (reliable: boolean, bytes: Uint8Array) => void) {
    this.#onFrame = onFrame;
    this.#attached = new Promise((resolve) => (this.#resolveAttached = resolve));
  }

  /** Creates both channels on the subscriber connection (once). */
  attach(pc: RTCPeerConnection): void {
    if (this.#reliable || this.#closed) return;
    const { reliable, lossy } = DATA_CHANNELS;
    this.#reliable = pc.createDataChannel(reliable.label, { negotiated: true, id: reliable.id, ordered: reliable.ordered });
    this.#lossy = pc.createDataChannel(lossy.label, {
      negotiated: true,
      id: lossy.id,
      ordered: lossy.ordered,
      maxRetransmits: lossy.maxRetransmits,
    });
    for (const [channel, isReliable] of [[this.#reliable, true], [this.#lossy, false]] as const) {
      channel.binaryType = "arraybuffer";
      channel.bufferedAmountLowThreshold = isReliable ? RELIABLE_LOW_WATER : 0;
      channel.addEventListener("message", (ev: MessageEvent<unknown>) => {
        if (ev.data instanceof ArrayBuffer) this.#onFrame(isReliable, new Uint8Array(ev.data));
      });
    }
    this.#resolveAttached();
  }

  /** Whether the channel a send would use is open now. */
  isOpen(reliable: boolean): boolean {
    return (reliable ? this.#reliable : this.#lossy)?.readyState === "open";
  }

  /** The connection is lost: reliable messages wait from now on, lossy ones are dropped. */
  hold(): void {
    if (this.#held || this.#closed) return;
    let release!: () => void;
    let reject!: (error: RoomError) => void;
    const promise = new Promise<void>((resolve, fail) => {
      release = resolve;
      reject = fail;
    });
    promise.catch(() => undefined); // the waiting sends get the rejection
    this.#held = { promise, release, reject };
  }

  /** The session is back: the held messages go out, in order. */
  release(): void {
    this.#held?.release();
    this.#held = undefined;
  }

  /** Hands the frames of one message to a channel. Rejects when the channel is (or gets) closed. */
  send(reliable: boolean, frames: Uint8Array[]): Promise<SendResult> {
    if (!reliable) return this.#held ? Promise.resolve("dropped") : this.#sendLossy(frames);
    const run = this.#reliableQueue.then(() => this.#sendReliable(frames));
    this.#reliableQueue = run.catch(() => undefined);
    return run;
  }

  /** `heldError`: what the messages held while reconnecting are rejected with (default: channel closed). */
  close(heldError: RoomError = closedError(true)): void {
    this.#held?.reject(heldError);
    this.#held = undefined;
    this.#closed = true;
    this.#resolveAttached(); // sends waiting for the channels now see them closed
    this.#reliable?.close();
    this.#lossy?.close();
  }

  async #sendReliable(frames: Uint8Array[]): Promise<SendResult> {
    if (this.#held) await this.#held.promise;
    const channel = await this.#open(true);
    for (const frame of frames) {
      if (channel.bufferedAmount > RELIABLE_HIGH_WATER) await drained(channel);
      transmit(channel, frame);
    }
    return "sent";
  }

  async #sendLossy(frames: Uint8Array[]): Promise<SendResult> {
    const channel = await this.#open(false);
    if (channel.bufferedAmount > LOSSY_HIGH_WATER) return "dropped";
    for (const frame of frames) transmit(channel, frame);
    return "sent";
  }

  /** The channel once open; waits while it is being set up. */
  async #open(reliable: boolean): Promise<RTCDataChannel> {
    const deadline = Date.now() + OPEN_TIMEOUT_MS;
    if (!this.#reliable && !this.#closed) await withTimeout(this.#attached, OPEN_TIMEOUT_MS);
    const channel = reliable ? this.#reliable : this.#lossy;
    if (!channel || this.#closed) throw closedError(reliable);
    if (channel.readyState === "connecting") await withTimeout(opened(channel), Math.max(0, deadline - Date.now()));
    if (channel.readyState !== "open") throw closedError(reliable);
    return channel;
  }
}

function transmit(channel: RTCDataChannel, frame: Uint8Array): void {
  if (channel.readyState !== "open") throw closedError(channel.id === DATA_CHANNELS.reliable.id);
  try {
    channel.send(asArrayBuffer(frame));
  } catch (e) {
    throw new RoomError("data-channel-closed", `The data channel refused the message: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
  }
}

function asArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

function closedError(reliable: boolean): RoomError {
  return new RoomError(
    "data-channel-closed",
    `The ${reliable ? "reliable" : "lossy"} data channel is closed (the room disconnected or its connection failed); the message was not sent.`,
  );
}

/** Resolves on `open`; rejects on `close`. */
function opened(channel: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (ok: boolean) => {
      channel.removeEventListener("open", onOpen);
      channel.removeEventListener("close", onClose);
      if (ok) resolve();
      else reject(closedError(channel.id === DATA_CHANNELS.reliable.id));
    };
    const onOpen = () => done(true);
    const onClose = () => done(false);
    channel.addEventListener("open", onOpen);
    channel.addEventListener("close", onClose);
  });
}

/** Resolves once the buffered amount fell to the low-water mark; rejects if the channel closes first. */
function drained(channel: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (ok: boolean) => {
      channel.removeEventListener("bufferedamountlow", onLow);
      channel.removeEventListener("close", onClose);
      if (ok) resolve();
      else reject(closedError(true));
    };
    const onLow = () => done(true);
    const onClose = () => done(false);
    channel.addEventListener("bufferedamountlow", onLow);
    channel.addEventListener("close", onClose);
    if (channel.bufferedAmount <= channel.bufferedAmountLowThreshold) done(true);
  });
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new RoomError("data-channel-closed", `The data channels did not open within ${Math.round(OPEN_TIMEOUT_MS / 1000)} s; the message was not sent.`)),
      ms,
    );
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

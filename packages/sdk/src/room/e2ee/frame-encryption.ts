/**
 * End-to-end encryption of one Room's media: a worker (frame-crypto-worker.ts) behind an
 * RTCRtpScriptTransform on every sender and receiver, fed with the KeyProvider's keys. It outlives the
 * Room's sessions (a rejoin's new transports are protected by the same one) and ends with the Room.
 */
import { Emitter } from "../emitter.ts";
import { RoomError } from "../errors.ts";
import { type DecryptionState, frameCryptoWorkerSource, type TransformOptions, type WorkerCommand, type WorkerReport } from "./frame-crypto-worker.ts";
import type { KeyProvider } from "./key-provider.ts";

/** Whose track a receiving transform decrypts. */
export interface ReceiverTarget {
  participantId: string;
  trackId: string;
}

export interface FrameEncryptionEvents {
  /** A remote track's frames started opening ("ok") or stopped: its key is missing, or another key encrypted them. */
  state: ReceiverTarget & { state: DecryptionState };
}

/** Whether this browser can encrypt frames (the standard encoded-transform API). */
export function frameEncryptionSupported(): boolean {
  return typeof RTCRtpScriptTransform === "function" && typeof Worker === "function";
}

export class FrameEncryption extends Emitter<FrameEncryptionEvents> {
  readonly #worker: Worker;
  readonly #url: string;
  readonly #unsubscribe: Array<() => void>;
  /** Receiving transforms by the id they report with. */
  readonly #targets = new Map<number, ReceiverTarget>();
  readonly #senders = new WeakSet<RTCRtpSender>();
  readonly #receiverIds = new WeakMap<RTCRtpReceiver, number>();
  #nextId = 1;

  constructor(keys: KeyProvider) {
    super();
    if (!frameEncryptionSupported()) throw new RoomError("e2ee-unsupported", "This browser cannot encrypt media frames (no RTCRtpScriptTransform): end-to-end encryption needs a current Chromium, Firefox or Safari.");
    this.#url = URL.createObjectURL(new Blob([frameCryptoWorkerSource()], { type: "text/javascript" }));
    this.#worker = new Worker(this.#url, { name: "sfu-room-e2ee" });
    this.#worker.onmessage = ({ data }: MessageEvent<WorkerReport>) => {
      const target = this.#targets.get(data.id);
      if (target) this.emit("state", { ...target, state: data.state });
    };
    for (const [index, raw] of keys.keys()) this.#command({ type: "key", index, raw });
    if (keys.currentIndex >= 0) this.#command({ type: "use", index: keys.currentIndex });
    this.#unsubscribe = [
      keys.on("key-set", ({ index, raw }) => this.#command({ type: "key", index, raw })),
      keys.on("key-used", ({ index }) => this.#command({ type: "use", index })),
    ];
  }

  /** Encrypts what this sender sends, for as long as it lives (a replaced track included). */
  protectSender(sender: RTCRtpSender, kind: "audio" | "video"): void {
    if (this.#senders.has(sender)) return;
    this.#senders.add(sender);
    sender.transform = this.#transform({ operation: "encrypt", kind, id: 0 });
  }

  /** Decrypts what this receiver gets; its reports name `target` (updated when its m-line carries another track). */
  protectReceiver(receiver: RTCRtpReceiver, kind: "audio" | "video", target: ReceiverTarget): void {
    let id = this.#receiverIds.get(receiver);
    if (id === undefined) {
      id = this.#nextId++;
      this.#receiverIds.set(receiver, id);
      receiver.transform = this.#transform({ operation: "decrypt", kind, id });
    }
    this.#targets.set(id, target);
  }

  close(): void {
    for (const off of this.#unsubscribe) off();
    this.#worker.terminate();
    URL.revokeObjectURL(this.#url);
    this.#targets.clear();
  }

  #transform(options: TransformOptions): RTCRtpScriptTransform {
    return new RTCRtpScriptTransform(this.#worker, options);
  }

  #command(command: WorkerCommand): void {
    // A copy: the provider keeps its bytes (a transfer would empty them).
    this.#worker.postMessage(command.type === "key" ? { ...command, raw: command.raw.slice(0) } : command);
  }
}

/**
 * The worker every RTCRtpScriptTransform of a Room runs in (Chromium and Firefox both implement the
 * standard API). It holds the imported keys, encrypts each encoded frame a sender produces and decrypts
 * each one a receiver gets (the format: frame-cipher.ts), and tells the page when a receiver's frames
 * start or stop opening.
 *
 * The worker is made from source text (a Blob URL), not from a file: the SDK is consumed as the relay's
 * one-file /sfu-room.js, through Vite, through tsc's output and through test servers, and a separate
 * worker file would need each of them to know about it. So `frameCryptoWorker` and the frame-cipher
 * functions must not refer to anything outside themselves.
 */
import { clearBytes, decryptFrame, encryptFrame, frameKeyIndex, importFrameKey } from "./frame-cipher.ts";

/** Page -> worker. */
export type WorkerCommand = { type: "key"; index: number; raw: ArrayBuffer } | { type: "use"; index: number };
/** Worker -> page: a receiving transform's frames now open ("ok"), name a key it lacks, or fail to open. */
export interface WorkerReport {
  type: "state";
  id: number;
  state: DecryptionState;
}
export type DecryptionState = "ok" | "missing-key" | "decrypt-failed";

/** What a transform is told when it is made (RTCRtpScriptTransform's options). */
export interface TransformOptions {
  operation: "encrypt" | "decrypt";
  kind: "audio" | "video";
  /** The page's id for a receiving transform, named in its reports. */
  id: number;
}

/** The parts of the worker's global scope and of encoded frames this uses (lib.dom does not type the worker side). */
interface EncodedFrame {
  data: ArrayBuffer;
  type?: string;
}
interface TransformerScope {
  onmessage: ((event: { data: WorkerCommand }) => void) | null;
  onrtctransform: ((event: { transformer: { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame>; options: TransformOptions } }) => void) | null;
  postMessage(report: WorkerReport): void;
}

/** The worker's main; runs inside the worker only. */
export function frameCryptoWorker(): void {
  const scope = self as unknown as TransformerScope;
  const keys = new Map<number, Promise<CryptoKey>>();
  let current = -1;
  scope.onmessage = ({ data }) => {
    if (data.type === "key") keys.set(data.index, importFrameKey(data.raw));
    else current = data.index;
  };
  scope.onrtctransform = ({ transformer }) => {
    const { operation, kind, id } = transformer.options;
    let prefix = crypto.getRandomValues(new Uint8Array(8));
    let counter = 0;
    let state = "";
    const report = (next: DecryptionState): void => {
      if (next === state) return;
      state = next;
      scope.postMessage({ type: "state", id, state: next });
    };
    const encrypt = async (frame: EncodedFrame, out: TransformStreamDefaultController<EncodedFrame>): Promise<void> => {
      const key = await keys.get(current);
      // No key yet: nothing leaves, rather than a frame in clear.
      if (key === undefined) return;
      if (counter === 0x100000000) {
        prefix = crypto.getRandomValues(new Uint8Array(8));
        counter = 0;
      }
      const iv = new Uint8Array(12);
      iv.set(prefix);
      new DataView(iv.buffer).setUint32(8, counter++);
      frame.data = await encryptFrame(key, current, frame.data, clearBytes(kind, frame.type === "key", frame.data.byteLength), iv);
      out.enqueue(frame);
    };
    const decrypt = async (frame: EncodedFrame, out: TransformStreamDefaultController<EncodedFrame>): Promise<void> => {
      const index = frameKeyIndex(frame.data);
      const key = index < 0 ? undefined : await keys.get(index);
      if (key === undefined) return report("missing-key");
      const opened = await decryptFrame(key, frame.data);
      // A frame that does not open is dropped: the decoder never sees ciphertext.
      if (opened === undefined) return report("decrypt-failed");
      frame.data = opened;
      out.enqueue(frame);
      report("ok");
    };
    const transform = operation === "encrypt" ? encrypt : decrypt;
    void transformer.readable
      .pipeThrough(new TransformStream<EncodedFrame, EncodedFrame>({
        transform: (frame, out) => (frame.data.byteLength === 0 ? out.enqueue(frame) : transform(frame, out)),
      }))
      .pipeTo(transformer.writable)
      .catch(() => undefined); // the sender or receiver went away
  };
}

/** The worker's whole program as text. */
export function frameCryptoWorkerSource(): string {
  const parts = [clearBytes, encryptFrame, frameKeyIndex, decryptFrame, importFrameKey, frameCryptoWorker].map((f) => f.toString());
  // Builds that keep function names (esbuild's keepNames) call __name() inside function bodies.
  return `var __name = (f) => f;\n${parts.join("\n")}\n${frameCryptoWorker.name}();\n`;
}

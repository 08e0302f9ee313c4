/**
 * The pre-join view's media: a camera preview and the microphone with its level, captured while the
 * view shows and released when it goes. A join captures anew (`release()` first: phones cannot open a
 * camera twice). After each render the captures follow the element's wishes: the view shown or not,
 * camera and microphone on or off, the devices picked; a change of device captures the new one.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { RoomError } from "../room/index.ts";
import { captureCamera, captureMicrophone, type CaptureConstraints } from "../room/local-media.ts";
import type { Device } from "./media-choice.ts";
import { MicLevel } from "./mic-level.ts";

export interface PreviewWishes {
  /** The pre-join view is shown. */
  shown: boolean;
  camera: boolean;
  microphone: boolean;
  /** How the join will capture the camera (its size depends on simulcast): the preview captures alike. */
  cameraConstraints: CaptureConstraints;
  cameraId: string | undefined;
  microphoneId: string | undefined;
}

const LEVEL_POLL_MS = 100;
const DEVICES: readonly Device[] = ["camera", "microphone"];

export class PrejoinPreview implements ReactiveController {
  /** The captures shown now (undefined while off, or being captured). */
  readonly tracks: Partial<Record<Device, MediaStreamTrack>> = {};
  /** Why a device could not be captured (denied, missing, in use), until it is captured. */
  readonly errors: Partial<Record<Device, RoomError>> = {};
  /** The microphone's level 0..1 in steps of 5 % (0 while it is off). */
  level = 0;
  readonly #host: ReactiveControllerHost;
  readonly #wishes: () => PreviewWishes;
  readonly #captured: () => void;
  /** What each device's capture is for ("off", or "on:" and the device id): a change starts a new one. */
  readonly #target: Record<Device, string> = { camera: "off", microphone: "off" };
  /** Counts captures per device: one that finishes after a newer one started is stopped. */
  readonly #generation: Record<Device, number> = { camera: 0, microphone: 0 };
  #meter: MicLevel | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `captured`: a capture succeeded (device labels are readable from now on). */
  constructor(host: ReactiveControllerHost, wishes: () => PreviewWishes, captured: () => void) {
    this.#host = host;
    this.#wishes = wishes;
    this.#captured = captured;
    host.addController(this);
  }

  hostUpdated(): void {
    const w = this.#wishes();
    this.#follow("camera", w.shown && w.camera, w.cameraId, w.cameraConstraints);
    this.#follow("microphone", w.shown && w.microphone, w.microphoneId, true);
  }

  hostDisconnected(): void {
    this.release();
  }

  /** Stops both captures now (a join is about to capture). */
  release(): void {
    for (const device of DEVICES) this.#follow(device, false, undefined, false);
  }

  /** From a user gesture: an audio context made without one may be suspended (the meter would stay still). */
  wake(): void {
    this.#meter?.resume();
  }

  #follow(device: Device, on: boolean, deviceId: string | undefined, constraints: CaptureConstraints): void {
    const target = on ? `on:${deviceId ?? ""}` : "off";
    if (this.#target[device] === target) return;
    this.#target[device] = target;
    const generation = ++this.#generation[device];
    this.#show(device, undefined);
    if (!on) {
      delete this.errors[device];
      this.#host.requestUpdate();
      return;
    }
    const capture = device === "camera" ? captureCamera(constraints, deviceId) : captureMicrophone(constraints, deviceId);
    capture.then(
      (track) => {
        if (this.#generation[device] !== generation) return track.stop();
        delete this.errors[device];
        this.#show(device, track);
        this.#captured();
      },
      (e: unknown) => {
        if (this.#generation[device] !== generation) return;
        this.errors[device] = e instanceof RoomError ? e : new RoomError("protocol-error", String(e));
        this.#host.requestUpdate();
      },
    );
  }

  #show(device: Device, track: MediaStreamTrack | undefined): void {
    this.tracks[device]?.stop();
    if (track) this.tracks[device] = track;
    else delete this.tracks[device];
    if (device === "microphone") this.#meterFor(track);
    this.#host.requestUpdate();
  }

  #meterFor(track: MediaStreamTrack | undefined): void {
    this.#meter?.close();
    this.#meter = track ? new MicLevel(track) : undefined;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.level = 0;
    if (!this.#meter) return;
    const meter = this.#meter;
    this.#timer = setInterval(() => {
      const level = Math.round(meter.read() * 20) / 20;
      if (level === this.level) return;
      this.level = level;
      this.#host.requestUpdate();
    }, LEVEL_POLL_MS);
  }
}

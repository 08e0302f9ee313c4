/**
 * Whether the camera and the microphone should be on. Two parties say so: the page with the `video` and
 * `audio` properties (applied at join, and whenever the page changes them), and the user with the
 * control bar or toggleCamera()/toggleMicrophone(), which never write those properties (the page owns
 * them). The latest word wins and a rejoin keeps it. What is actually on is the Room's
 * (room.local.isCameraEnabled): a denied camera is off whatever was wished.
 */
import type { Room } from "../room/index.ts";

export type Device = "camera" | "microphone";

function isOn(room: Room, source: Device): boolean {
  return source === "camera" ? room.local.isCameraEnabled : room.local.isMicrophoneEnabled;
}

export class MediaChoice {
  readonly #wanted: Record<Device, boolean> = { camera: true, microphone: true };
  /** What the current join was last given, to tell a wish made while joining from one already applied. */
  readonly #given: Record<Device, boolean> = { camera: true, microphone: true };

  /** The capture a join starts with. */
  connectOptions(): { video: boolean; audio: boolean } {
    Object.assign(this.#given, this.#wanted);
    return { video: this.#wanted.camera, audio: this.#wanted.microphone };
  }

  /** What the next join uses (the latest wish). */
  wants(source: Device): boolean {
    return this.#wanted[source];
  }

  /** The page set `video`/`audio`. `room` is the joined Room, if any: it follows at once. */
  pageWants(source: Device, on: boolean, room: Room | undefined): void {
    this.#wanted[source] = on;
    if (room && isOn(room, source) !== on) void this.#apply(room, source, on).catch(() => undefined);
  }

  /** The user flips the device; resolves with what is on afterwards. */
  async toggle(source: Device, room: Room | undefined): Promise<boolean> {
    const next = !(room ? isOn(room, source) : this.#wanted[source]);
    this.#wanted[source] = next;
    if (!room) return next;
    await this.#apply(room, source, next).catch(() => undefined); // the Room reports the error as an `error` event
    return isOn(room, source);
  }

  /** The join finished: apply what was wished while it was under way. */
  joined(room: Room): void {
    for (const source of ["camera", "microphone"] as const) {
      if (this.#wanted[source] !== this.#given[source]) void this.#apply(room, source, this.#wanted[source]).catch(() => undefined);
    }
  }

  #apply(room: Room, source: Device, on: boolean): Promise<void> {
    this.#given[source] = on;
    return source === "camera" ? room.setCameraEnabled(on) : room.setMicrophoneEnabled(on);
  }
}

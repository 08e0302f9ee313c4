/**
 * The pre-join view (`prejoin` attribute): a camera preview, camera and microphone on/off, the device
 * pickers and a microphone level meter, and the Join button. What is chosen here is what the join uses.
 */
import { html, nothing, type SVGTemplateResult, type TemplateResult } from "lit";
import type { RoomError } from "../room/index.ts";
import { deviceSelect } from "./controls.ts";
import { camIcon, camOffIcon, micIcon, micOffIcon } from "./icons.ts";
import { streamOf } from "./streams.ts";

export interface PrejoinState {
  room: string;
  /** Server and room are set: Join can start. */
  canJoin: boolean;
  cameraOn: boolean;
  microphoneOn: boolean;
  /** The preview's capture, once there. */
  preview: MediaStreamTrack | undefined;
  /** The microphone's level, 0..1. */
  level: number;
  errors: RoomError[];
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  cameraId: string | undefined;
  microphoneId: string | undefined;
}

export interface PrejoinHandlers {
  toggleCamera(): void;
  toggleMicrophone(): void;
  pickDevice(kind: "videoinput" | "audioinput", deviceId: string): void;
  join(): void;
  /** Any pointer press in the view (a gesture, which lets the level meter's audio start). */
  wake(): void;
}

function toggle(on: boolean, part: string, labels: { on: string; off: string }, icons: { on: SVGTemplateResult; off: SVGTemplateResult }, run: () => void): TemplateResult {
  const label = on ? labels.on : labels.off;
  return html`<button class=${on ? "control" : "control off"} part=${`control ${part}`} aria-pressed=${on ? "true" : "false"} aria-label=${label} title=${label} @click=${run}>
    ${on ? icons.on : icons.off}
  </button>`;
}

export function renderPrejoin(s: PrejoinState, on: PrejoinHandlers): TemplateResult {
  const percent = Math.round(s.level * 100);
  return html`<div class="prejoin" part="prejoin" @pointerdown=${on.wake}>
    <div class="prejoin-preview" part="prejoin-preview">
      <video part="prejoin-video" .srcObject=${streamOf(s.preview)} .muted=${true} autoplay playsinline ?hidden=${!s.preview}></video>
      ${s.preview ? nothing : html`<div class="avatar" part="avatar"><span>${camOffIcon}</span></div>`}
      <div class="prejoin-toggles">
        ${toggle(s.microphoneOn, "prejoin-microphone", { on: "Mute microphone", off: "Unmute microphone" }, { on: micIcon, off: micOffIcon }, on.toggleMicrophone)}
        ${toggle(s.cameraOn, "prejoin-camera", { on: "Turn camera off", off: "Turn camera on" }, { on: camIcon, off: camOffIcon }, on.toggleCamera)}
      </div>
    </div>
    <div class="prejoin-side">
      <p class="prejoin-title" part="message">${s.room ? `Ready to join “${s.room}”?` : "Waiting for a room to join."}</p>
      ${s.errors.map((e) => html`<p class="prejoin-error" part="prejoin-error" role="alert" data-code=${e.code}>${e.message}</p>`)}
      ${deviceSelect("Camera", "videoinput", s.cameras, s.cameraId, on)}
      ${deviceSelect("Microphone", "audioinput", s.microphones, s.microphoneId, on)}
      <div
        class="level"
        part="mic-level"
        role="meter"
        aria-label="Microphone level"
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${percent}
      >
        <span style="width:${percent}%"></span>
      </div>
      <button class="action" part="action prejoin-join" ?disabled=${!s.canJoin} @click=${on.join}>Join</button>
    </div>
  </div>`;
}

/** The control bar: microphone, camera, screen share, device picker, leave. Every control is >= 44 px. */
import { html, nothing, type TemplateResult } from "lit";
import { camIcon, camOffIcon, leaveIcon, micIcon, micOffIcon, screenIcon, settingsIcon } from "./icons.ts";

export interface ControlsState {
  microphoneOn: boolean;
  cameraOn: boolean;
  screenOn: boolean;
  screenSupported: boolean;
  devicesOpen: boolean;
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  cameraId: string | undefined;
  microphoneId: string | undefined;
}

export interface ControlsHandlers {
  toggleMicrophone(): void;
  toggleCamera(): void;
  toggleScreenShare(): void;
  toggleDevices(): void;
  pickDevice(kind: "videoinput" | "audioinput", deviceId: string): void;
  leave(): void;
}

/** A camera or microphone picker (the control bar's device panel and the pre-join view). */
export function deviceSelect(
  label: string,
  kind: "videoinput" | "audioinput",
  devices: MediaDeviceInfo[],
  current: string | undefined,
  on: Pick<ControlsHandlers, "pickDevice">,
): TemplateResult {
  const noun = kind === "videoinput" ? "Camera" : "Microphone";
  return html`<label
    >${label}
    <select
      part="device-select"
      name=${kind}
      ?disabled=${devices.length === 0}
      @change=${(e: Event) => on.pickDevice(kind, (e.target as HTMLSelectElement).value)}
    >
      ${devices.length === 0 ? html`<option value="">No ${noun.toLowerCase()} found</option>` : nothing}
      ${devices.map(
        (d, i) => html`<option value=${d.deviceId} ?selected=${d.deviceId === current}>${d.label || `${noun} ${i + 1}`}</option>`,
      )}
    </select>
  </label>`;
}

export function renderControls(s: ControlsState, on: ControlsHandlers): TemplateResult {
  return html`<div class="controls" part="controls" role="toolbar" aria-label="Call controls">
    ${s.devicesOpen
      ? html`<div class="devices" part="devices" role="dialog" aria-label="Devices">
          ${deviceSelect("Camera", "videoinput", s.cameras, s.cameraId, on)}
          ${deviceSelect("Microphone", "audioinput", s.microphones, s.microphoneId, on)}
        </div>`
      : nothing}
    <button
      class=${s.microphoneOn ? "control" : "control off"}
      part="control control-microphone"
      aria-pressed=${s.microphoneOn ? "true" : "false"}
      aria-label=${s.microphoneOn ? "Mute microphone" : "Unmute microphone"}
      title=${s.microphoneOn ? "Mute microphone" : "Unmute microphone"}
      @click=${on.toggleMicrophone}
    >
      ${s.microphoneOn ? micIcon : micOffIcon}<span class="text">${s.microphoneOn ? "Mute" : "Unmute"}</span>
    </button>
    <button
      class=${s.cameraOn ? "control" : "control off"}
      part="control control-camera"
      aria-pressed=${s.cameraOn ? "true" : "false"}
      aria-label=${s.cameraOn ? "Turn camera off" : "Turn camera on"}
      title=${s.cameraOn ? "Turn camera off" : "Turn camera on"}
      @click=${on.toggleCamera}
    >
      ${s.cameraOn ? camIcon : camOffIcon}<span class="text">${s.cameraOn ? "Stop video" : "Start video"}</span>
    </button>
    ${s.screenSupported
      ? html`<button
          class="control"
          part="control control-screen"
          data-active=${s.screenOn ? "true" : "false"}
          aria-pressed=${s.screenOn ? "true" : "false"}
          aria-label=${s.screenOn ? "Stop sharing the screen" : "Share the screen"}
          title=${s.screenOn ? "Stop sharing the screen" : "Share the screen"}
          @click=${on.toggleScreenShare}
        >
          ${screenIcon}<span class="text">${s.screenOn ? "Stop sharing" : "Share"}</span>
        </button>`
      : nothing}
    <button
      class="control"
      part="control control-devices"
      aria-expanded=${s.devicesOpen ? "true" : "false"}
      aria-label="Choose camera and microphone"
      title="Choose camera and microphone"
      @click=${on.toggleDevices}
    >
      ${settingsIcon}<span class="text">Devices</span>
    </button>
    <button class="control leave" part="control control-leave" aria-label="Leave the room" title="Leave the room" @click=${on.leave}>
      ${leaveIcon}<span class="text">Leave</span>
    </button>
  </div>`;
}

/** Capturing camera, microphone and screen, with errors turned into RoomErrors. */
import { mediaError, RoomError } from "./errors.ts";

export type CaptureConstraints = boolean | MediaTrackConstraints;

/** What this client can capture and publish ("screen-audio": the sound of a shared tab or screen). */
export type LocalSource = "camera" | "microphone" | "screen" | "screen-audio";

/** Default camera capture: modest, so a call of several people stays light on phones and laptops. */
export const DEFAULT_VIDEO: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};

export const DEFAULT_AUDIO: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

function mediaDevices(): MediaDevices {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia) {
    throw new RoomError("media-unsupported", "This page cannot use a camera or microphone (it needs https:// or http://localhost).");
  }
  return navigator.mediaDevices;
}

function withDevice(base: CaptureConstraints, fallback: MediaTrackConstraints, deviceId: string | undefined): MediaTrackConstraints {
  const constraints = base === true ? { ...fallback } : base === false ? { ...fallback } : { ...base };
  if (deviceId) constraints.deviceId = { exact: deviceId };
  return constraints;
}

export async function captureCamera(constraints: CaptureConstraints, deviceId?: string): Promise<MediaStreamTrack> {
  try {
    const stream = await mediaDevices().getUserMedia({ video: withDevice(constraints, DEFAULT_VIDEO, deviceId) });
    return stream.getVideoTracks()[0]!;
  } catch (e) {
    throw e instanceof RoomError ? e : mediaError("camera", e);
  }
}

export async function captureMicrophone(constraints: CaptureConstraints, deviceId?: string): Promise<MediaStreamTrack> {
  try {
    const stream = await mediaDevices().getUserMedia({ audio: withDevice(constraints, DEFAULT_AUDIO, deviceId) });
    return stream.getAudioTracks()[0]!;
  } catch (e) {
    throw e instanceof RoomError ? e : mediaError("microphone", e);
  }
}

/**
 * Camera and microphone with one permission prompt when both are wanted. When the joint request fails,
 * each is tried alone, so a denied camera still leaves a working microphone (and the reverse).
 */
export async function captureBoth(
  audio: CaptureConstraints,
  video: CaptureConstraints,
  devices: { audio?: string | undefined; video?: string | undefined } = {},
): Promise<{ audio?: MediaStreamTrack; video?: MediaStreamTrack; errors: RoomError[] }> {
  const errors: RoomError[] = [];
  if (audio !== false && video !== false) {
    try {
      const stream = await mediaDevices().getUserMedia({
        audio: withDevice(audio, DEFAULT_AUDIO, devices.audio),
        video: withDevice(video, DEFAULT_VIDEO, devices.video),
      });
      const a = stream.getAudioTracks()[0];
      const v = stream.getVideoTracks()[0];
      if (a && v) return { audio: a, video: v, errors };
      stream.getTracks().forEach((t) => t.stop());
    } catch (e) {
      if (e instanceof RoomError) return { errors: [e] };
      // Fall through: find out which of the two is the problem.
    }
  }
  const result: { audio?: MediaStreamTrack; video?: MediaStreamTrack; errors: RoomError[] } = { errors };
  if (audio !== false) {
    try {
      result.audio = await captureMicrophone(audio, devices.audio);
    } catch (e) {
      errors.push(e as RoomError);
    }
  }
  if (video !== false) {
    try {
      result.video = await captureCamera(video, devices.video);
    } catch (e) {
      errors.push(e as RoomError);
    }
  }
  return result;
}

/**
 * The screen (or a window or tab) and, when the browser offers it (Chromium for a tab, or a whole screen
 * on Windows and ChromeOS) and the user leaves its box ticked, its sound. The sound is media, not a
 * voice: no echo cancellation, noise suppression or gain control, which would flatten music.
 */
export async function captureScreen(): Promise<{ video: MediaStreamTrack; audio: MediaStreamTrack | undefined }> {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getDisplayMedia) {
    throw new RoomError("screen-share-unsupported", "This browser cannot share the screen.");
  }
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    return { video: stream.getVideoTracks()[0]!, audio: stream.getAudioTracks()[0] };
  } catch (e) {
    throw mediaError("screen", e);
  }
}

export function screenShareSupported(): boolean {
  return typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getDisplayMedia === "function";
}

/** Cameras and microphones (labels are empty until the page has been granted access once). */
export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }> {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.enumerateDevices) return { cameras: [], microphones: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === "videoinput" && d.deviceId !== ""),
    microphones: all.filter((d) => d.kind === "audioinput" && d.deviceId !== ""),
  };
}

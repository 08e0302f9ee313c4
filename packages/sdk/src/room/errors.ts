/**
 * Errors a user or an application can meet, each with a stable `code` to program against and a message
 * that says what happened and what to do.
 */
import type { ErrorCode as RelayErrorCode } from "@sfu-room/protocol";
import type { LocalSource } from "./local-media.ts";

export type RoomErrorCode =
  /** The WebSocket to the relay could not be opened (wrong address, relay down, blocked). */
  | "relay-unreachable"
  /** The session ended without `disconnect()`: WebSocket closed or a peer connection failed (reconnecting turned off). */
  | "connection-lost"
  /** The connection was lost and reconnecting gave up: the time limit passed, or the relay refused the rejoin (`relayCode`). */
  | "reconnect-failed"
  /** The relay closed the session on purpose (policy close code). */
  | "kicked"
  | "room-full"
  | "unauthorized"
  | "bad-room-name"
  /** Any other refusal of `join`. */
  | "join-failed"
  | "camera-denied"
  | "camera-missing"
  | "camera-in-use"
  | "microphone-denied"
  | "microphone-missing"
  | "microphone-in-use"
  | "screen-share-denied"
  | "screen-share-unsupported"
  /** No `navigator.mediaDevices` (insecure context or very old browser). */
  | "media-unsupported"
  /** End-to-end encryption was asked for and this browser cannot encrypt frames (no RTCRtpScriptTransform). Nothing was joined. */
  | "e2ee-unsupported"
  /** The relay refused a publish offer (`bad-sdp`, `too-many-tracks`, ...). */
  | "publish-failed"
  /** The token does not allow this (publishing, a source): the message names the grant. Nothing else stops. */
  | "forbidden"
  /** The relay sent something this SDK cannot use, or an unexpected error. */
  | "protocol-error"
  /** The operation needs a connected room. */
  | "not-connected"
  /** send(): the message is over the size limit (1 MiB; one frame on the lossy channel). Nothing was sent. */
  | "data-too-large"
  /** send(): a data channel is closed or did not open. Nothing (more) was sent. */
  | "data-channel-closed"
  /** send(): the message waited while the room reconnected, and the rejoin replaced the data channels: it was not sent. */
  | "data-not-delivered"
  /** send(): `to` names someone who is not another participant of the room. Nothing was sent. */
  | "unknown-participant"
  /** send(): options the protocol cannot carry (topic over 128 characters, an empty `to`, ...). */
  | "invalid-message"
  /** The relay refused a data message after it was sent (`relayCode` says why: data-too-large, unknown-participant, rate-limited, bad-data). */
  | "data-refused";

export class RoomError extends Error {
  override readonly name = "RoomError";
  constructor(
    readonly code: RoomErrorCode,
    message: string,
    /** The relay's error code when the relay refused something. */
    readonly relayCode?: RelayErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Turns a getUserMedia/getDisplayMedia rejection into a RoomError with a clear message. */
export function mediaError(source: LocalSource, error: unknown): RoomError {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  const detail = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  if (source === "screen") {
    if (name === "NotSupportedError" || name === "TypeError") {
      return new RoomError("screen-share-unsupported", "This browser cannot share the screen.", undefined, { cause: error });
    }
    return new RoomError("screen-share-denied", "Screen sharing was cancelled or not allowed.", undefined, { cause: error });
  }
  const device = source === "camera" ? "camera" : "microphone";
  const Device = source === "camera" ? "Camera" : "Microphone";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return new RoomError(
        `${device}-denied`,
        `${Device} access was denied. Allow the ${device} for this site in the browser's settings, then turn it on again.`,
        undefined,
        { cause: error },
      );
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return new RoomError(`${device}-missing`, `No ${device} was found. Connect one, or carry on without it.`, undefined, {
        cause: error,
      });
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return new RoomError(
        `${device}-in-use`,
        `The ${device} could not be started; another application may be using it.`,
        undefined,
        { cause: error },
      );
    default:
      if (typeof navigator === "undefined" || !navigator.mediaDevices) {
        return new RoomError(
          "media-unsupported",
          "This page cannot use a camera or microphone (it needs https:// or http://localhost).",
          undefined,
          { cause: error },
        );
      }
      return new RoomError(`${device}-in-use`, `The ${device} could not be started: ${detail}`, undefined, { cause: error });
  }
}

/** The RoomError for a relay's refusal of `join`. */
export function joinError(code: RelayErrorCode, message: string, room: string): RoomError {
  switch (code) {
    case "room-full":
      return new RoomError("room-full", `The room "${room}" is full. Try again later or choose another room.`, code);
    case "unauthorized":
      return new RoomError("unauthorized", `The relay refused to let you into "${room}": ${message}`, code);
    case "bad-room-name":
      return new RoomError("bad-room-name", `"${room}" is not a valid room name: use 1-64 letters, digits, - _ or .`, code);
    default:
      return new RoomError("join-failed", `Could not join "${room}": ${message}`, code);
  }
}

/** Refusals of a rejoin that no retry changes. */
export const FINAL_REFUSALS: ReadonlySet<RoomErrorCode> = new Set(["unauthorized", "bad-room-name"]);

/** The error reconnecting gives up with: the last attempt's failure, in words a user can act on. */
export function reconnectFailed(last: unknown, attempts: number, timeoutMs: number): RoomError {
  if (last instanceof RoomError && FINAL_REFUSALS.has(last.code)) {
    return new RoomError("reconnect-failed", `The connection to the relay was lost, and the relay refused to let you back in: ${last.message}`, last.relayCode, { cause: last });
  }
  const why = last instanceof Error ? ` The last attempt: ${last.message}` : "";
  return new RoomError(
    "reconnect-failed",
    `The connection to the relay was lost and could not be restored (${attempts} attempt${attempts === 1 ? "" : "s"} in ${Math.round(timeoutMs / 1000)} s).${why} Check the network, then join again.`,
    undefined,
    { cause: last },
  );
}

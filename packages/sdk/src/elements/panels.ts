/** The panel shown instead of the grid while not in the room (waiting, joining, left, failed), and the reconnecting banner. */
import { html, nothing, type TemplateResult } from "lit";
import type { RoomErrorCode } from "../room/index.ts";
import type { SfuRoomStatus } from "./join-controller.ts";

export interface PanelState {
  status: SfuRoomStatus;
  manual: boolean;
  server: string;
  room: string;
  fatal: { code: RoomErrorCode; message: string } | undefined;
}

export function renderPanel(s: PanelState, join: () => void): TemplateResult {
  switch (s.status) {
    case "idle":
      if (s.manual || !s.server || !s.room) {
        return panel(s.room ? `Ready to join “${s.room}”.` : "Waiting for a room to join.", s.server && s.room ? { label: "Join", run: join } : undefined);
      }
      return panel(`Joining “${s.room}”…`); // the join starts in a moment
    case "joining":
      return panel(`Joining “${s.room}”…`);
    case "left":
      return panel(`You left “${s.room}”.`, { label: "Rejoin", run: join });
    case "failed":
      return panel(s.fatal?.message ?? "Something went wrong.", { label: "Try again", run: join }, s.fatal?.code ?? "");
    case "joined":
    case "reconnecting":
      return panel(""); // leaving: the status follows in a moment
  }
}

/** Over the grid while the Room gets back in: the tiles keep their last frames underneath. */
export function renderReconnecting(): TemplateResult {
  return html`<div class="reconnecting" part="reconnecting" role="status" aria-live="polite">Reconnecting…</div>`;
}

/** `errorCode` set: a fatal error (an alert, with the code for styling and tests). */
function panel(text: string, action?: { label: string; run: () => void }, errorCode?: string): TemplateResult {
  const error = errorCode !== undefined;
  return html`<div class="panel" part=${error ? "panel error" : "panel"} data-kind=${error ? "error" : "status"} role=${error ? "alert" : "status"}>
    <p part="message" data-code=${errorCode ?? ""}>${text}</p>
    ${action ? html`<button class="action" part="action" @click=${action.run}>${action.label}</button>` : nothing}
  </div>`;
}

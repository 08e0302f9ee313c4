/** Non-fatal errors shown over the stage until dismissed (camera denied, publish refused, ...), and the audio prompt. */
import { html, nothing, type TemplateResult } from "lit";
import type { RoomError, RoomErrorCode } from "../room/index.ts";
import { speakerIcon } from "./icons.ts";

export interface Notice {
  id: number;
  code: RoomErrorCode;
  message: string;
}

let lastId = 0;

/** `notices` with `error` added: one notice per code (the newest), so a repeated failure does not pile up. */
export function withNotice(notices: readonly Notice[], error: RoomError): Notice[] {
  return [...notices.filter((n) => n.code !== error.code), { id: ++lastId, code: error.code, message: error.message }];
}

export function renderNotices(
  notices: readonly Notice[],
  audioBlocked: boolean,
  on: { enableAudio(): void; dismiss(id: number): void },
): TemplateResult {
  return html`<div class="notices">
    ${audioBlocked
      ? html`<button class="audio-prompt" part="audio-prompt" @click=${on.enableAudio}>${speakerIcon} Tap to enable audio</button>`
      : nothing}
    ${notices.map(
      (n) => html`<div class="notice" part="notice" role="alert" data-code=${n.code}>
        <span>${n.message}</span>
        <button aria-label="Dismiss" title="Dismiss" @click=${() => on.dismiss(n.id)}>×</button>
      </div>`,
    )}
  </div>`;
}

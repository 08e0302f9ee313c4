/** Styles of <sfu-chat>: the same custom properties as <sfu-room> (docs/data.md lists them). */
import { css } from "lit";

export const chatStyles = css`
  :host {
    --_bg: var(--sfu-room-background, #0f1216);
    --_fg: var(--sfu-room-color, #f3f5f8);
    --_muted-fg: var(--sfu-room-muted-color, #aab2bf);
    --_bubble: var(--sfu-room-tile-background, #1d232c);
    --_accent: var(--sfu-room-accent, #3b82f6);
    --_danger: var(--sfu-room-danger, #e5484d);
    --_radius: var(--sfu-room-radius, 12px);
    --_gap: var(--sfu-room-gap, 8px);
    --_control-size: max(44px, var(--sfu-room-control-size, 48px));
    display: flex;
    flex-direction: column;
    box-sizing: border-box;
    min-height: 160px;
    height: 100%;
    max-width: 100%;
    overflow: hidden;
    background: var(--_bg);
    color: var(--_fg);
    font-family: var(--sfu-room-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    font-size: 15px;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .log {
    flex: 1 1 auto;
    min-height: 0;
    margin: 0;
    padding: var(--_gap);
    list-style: none;
    overflow-y: auto;
    overflow-x: hidden;
    display: flex;
    flex-direction: column;
    gap: 6px;
    overscroll-behavior: contain;
  }
  .message {
    max-width: 85%;
    align-self: flex-start;
    padding: 6px 10px;
    border-radius: var(--_radius);
    background: var(--_bubble);
    overflow-wrap: anywhere;
  }
  .message[data-self] {
    align-self: flex-end;
    background: color-mix(in srgb, var(--_accent) 35%, var(--_bubble));
  }
  .meta {
    display: flex;
    gap: 6px;
    align-items: baseline;
    font-size: 12px;
    color: var(--_muted-fg);
  }
  .sender {
    font-weight: 600;
    color: var(--_fg);
  }
  .text {
    margin: 2px 0 0;
    white-space: pre-wrap;
  }
  .empty {
    margin: auto;
    color: var(--_muted-fg);
    text-align: center;
    padding: var(--_gap);
  }
  form {
    display: flex;
    gap: var(--_gap);
    padding: var(--_gap);
    border-top: 1px solid color-mix(in srgb, var(--_fg) 12%, transparent);
  }
  input {
    flex: 1 1 auto;
    min-width: 0;
    min-height: var(--_control-size);
    padding: 0 12px;
    /* 16 px: phones do not zoom into the field on focus. */
    font: inherit;
    font-size: 16px;
    color: inherit;
    background: var(--_bubble);
    border: 1px solid color-mix(in srgb, var(--_fg) 20%, transparent);
    border-radius: calc(var(--_control-size) / 2);
  }
  button {
    flex: 0 0 auto;
    min-width: var(--_control-size);
    min-height: var(--_control-size);
    padding: 0 16px;
    font: inherit;
    font-weight: 600;
    color: #fff;
    background: var(--_accent);
    border: 0;
    border-radius: calc(var(--_control-size) / 2);
    cursor: pointer;
  }
  button:disabled,
  input:disabled {
    opacity: 0.5;
    cursor: default;
  }
  :focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  .error {
    margin: 0;
    padding: 0 var(--_gap) var(--_gap);
    color: var(--_danger);
    font-size: 13px;
  }
`;

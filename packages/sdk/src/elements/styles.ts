/**
 * Styles of <sfu-room>. Everything a host page may want to change is a custom property (--sfu-room-*)
 * or reachable through a part (docs/element.md lists both).
 */
import { css } from "lit";

export const styles = css`
  :host {
    --_bg: var(--sfu-room-background, #0f1216);
    --_fg: var(--sfu-room-color, #f3f5f8);
    --_muted-fg: var(--sfu-room-muted-color, #aab2bf);
    --_tile-bg: var(--sfu-room-tile-background, #1d232c);
    --_accent: var(--sfu-room-accent, #3b82f6);
    --_speaking: var(--sfu-room-speaking-color, #22c55e);
    --_danger: var(--sfu-room-danger, #e5484d);
    --_radius: var(--sfu-room-radius, 12px);
    --_gap: var(--sfu-room-gap, 8px);
    --_control-size: max(44px, var(--sfu-room-control-size, 48px));
    --_control-bg: var(--sfu-room-control-background, #2a323e);
    display: block;
    position: relative;
    box-sizing: border-box;
    height: 100%;
    min-height: 320px;
    max-width: 100%;
    overflow: hidden;
    background: var(--_bg);
    color: var(--_fg);
    font-family: var(--sfu-room-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    font-size: 15px;
    container-type: inline-size;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .root {
    display: flex;
    flex-direction: column;
    height: 100%;
    width: 100%;
  }
  .stage {
    position: relative;
    flex: 1 1 auto;
    min-height: 0;
    overflow: hidden;
  }
  .grid {
    position: absolute;
    inset: var(--_gap);
    display: flex;
    flex-wrap: wrap;
    align-content: center;
    justify-content: center;
    gap: var(--_gap);
  }
  /* Presenter layout: the shared screen (spotlight) over one row of tiles (strip), centred as a block. */
  .presenter {
    position: absolute;
    inset: var(--_gap);
    display: flex;
    flex-direction: column;
    justify-content: center;
    gap: var(--_gap);
  }
  .spotlight {
    flex: none;
    width: var(--_spotlight-w, 100%);
    height: var(--_spotlight-h, 70%);
  }
  .spotlight .tile {
    width: 100%;
    height: 100%;
  }
  .strip {
    flex: none;
    display: flex;
    justify-content: safe center;
    gap: var(--_gap);
    overflow-x: auto;
    overscroll-behavior-x: contain;
    scrollbar-width: thin;
  }
  .strip .tile {
    flex: none;
  }
  /* Your own share: a small preview in the corner instead of the screen itself. */
  .presenting {
    position: absolute;
    right: calc(2 * var(--_gap));
    bottom: calc(2 * var(--_gap));
    z-index: 2;
    width: clamp(132px, 22%, 220px);
    border-radius: var(--_radius);
    overflow: hidden;
    background: var(--_tile-bg);
    box-shadow: 0 4px 16px rgb(0 0 0 / 0.45);
  }
  .presenting video {
    display: block;
    width: 100%;
    aspect-ratio: 16 / 9;
    object-fit: contain;
    background: #000;
  }
  .presenting-bar {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 6px;
    padding: 2px 2px 2px 10px;
    font-size: 13px;
  }
  .presenting-stop {
    min-width: 44px;
    min-height: 44px;
    padding: 0 12px;
    border: 0;
    border-radius: 22px;
    background: var(--_danger);
    color: #fff;
    font-weight: 600;
    cursor: pointer;
  }
  .tile {
    position: relative;
    width: var(--_tile-w, 320px);
    height: var(--_tile-h, 180px);
    max-width: 100%;
    border-radius: var(--_radius);
    background: var(--_tile-bg);
    overflow: hidden;
    outline: 3px solid transparent;
    outline-offset: -3px;
    transition: outline-color 0.15s;
  }
  .tile[data-speaking] {
    outline-color: var(--_speaking);
  }
  .tile video {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
    object-fit: cover;
    background: #000;
  }
  .tile[data-source="screen"] video {
    object-fit: contain;
  }
  .tile[data-self][data-source="camera"] video {
    transform: scaleX(-1);
  }
  .tile video[hidden] {
    display: none;
  }
  .avatar {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
  }
  .avatar span {
    display: grid;
    place-items: center;
    width: min(40%, 96px);
    aspect-ratio: 1;
    border-radius: 50%;
    background: var(--_control-bg);
    font-size: clamp(16px, 5cqi, 32px);
    font-weight: 600;
    text-transform: uppercase;
  }
  .label {
    position: absolute;
    left: 6px;
    bottom: 6px;
    max-width: calc(100% - 12px);
    display: flex;
    align-items: center;
    gap: 4px;
    padding: 3px 8px;
    border-radius: 999px;
    background: rgb(0 0 0 / 0.55);
    font-size: 13px;
    line-height: 18px;
  }
  .label .name {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .label svg {
    width: 16px;
    height: 16px;
    flex: none;
  }
  .label .muted {
    color: var(--_danger);
    display: inline-flex;
  }
  .paused-cover {
    background: var(--_tile-bg);
  }
  .paused {
    position: absolute;
    top: 8px;
    left: 8px;
    right: 26px;
    padding: 3px 8px;
    border-radius: 6px;
    background: rgb(0 0 0 / 0.55);
    color: #f5a524;
    font-size: 13px;
    line-height: 18px;
  }
  .label .limited {
    flex: none;
    padding: 0 6px;
    border-radius: 999px;
    background: #f5a524;
    color: #000;
    font-size: 11px;
  }
  .indicator {
    position: absolute;
    top: 8px;
    right: 8px;
    width: 10px;
    height: 10px;
    border-radius: 50%;
    background: var(--_speaking);
    box-shadow: 0 0 0 2px rgb(0 0 0 / 0.4);
  }
  .indicator[data-state="connecting"] {
    background: #f5a524;
    animation: pulse 1s ease-in-out infinite alternate;
  }
  .indicator[data-state="interrupted"] {
    background: var(--_danger);
  }
  @keyframes pulse {
    to {
      opacity: 0.35;
    }
  }
  .controls {
    flex: none;
    position: relative;
    display: flex;
    flex-wrap: wrap;
    justify-content: center;
    align-items: center;
    gap: var(--_gap);
    padding: var(--_gap);
    padding-bottom: max(var(--_gap), env(safe-area-inset-bottom));
  }
  button,
  select {
    font: inherit;
    color: inherit;
  }
  .control {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 6px;
    min-width: var(--_control-size);
    min-height: var(--_control-size);
    height: var(--_control-size);
    padding: 0 12px;
    border: 0;
    border-radius: calc(var(--_control-size) / 2);
    background: var(--_control-bg);
    cursor: pointer;
    touch-action: manipulation;
  }
  .control:focus-visible,
  .action:focus-visible,
  .presenting-stop:focus-visible,
  select:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  .control.off {
    background: var(--_fg);
    color: var(--_bg);
  }
  .control[data-active="true"] {
    background: var(--_accent);
    color: #fff;
  }
  .control.leave {
    background: var(--_danger);
    color: #fff;
  }
  .control .text {
    display: none;
  }
  @container (min-width: 720px) {
    .control .text {
      display: inline;
    }
  }
  .devices {
    position: absolute;
    bottom: calc(100% + 4px);
    left: 50%;
    transform: translateX(-50%);
    width: min(340px, calc(100% - 2 * var(--_gap)));
    display: grid;
    gap: var(--_gap);
    padding: 12px;
    border-radius: var(--_radius);
    background: var(--_tile-bg);
    box-shadow: 0 8px 24px rgb(0 0 0 / 0.4);
    z-index: 2;
  }
  .devices label,
  .prejoin-side label {
    display: grid;
    gap: 4px;
    font-size: 13px;
    color: var(--_muted-fg);
  }
  .devices select,
  .prejoin-side select {
    width: 100%;
    min-height: 44px;
    padding: 0 8px;
    border-radius: 8px;
    border: 1px solid #3a4452;
    background: var(--_bg);
  }
  /* The pre-join view: the preview beside the pickers (above them on narrow elements). */
  .prejoin {
    position: absolute;
    inset: 0;
    display: grid;
    align-content: center;
    justify-items: center;
    gap: 16px;
    padding: 16px;
    overflow-y: auto;
  }
  @container (min-width: 720px) {
    .prejoin {
      grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr);
      align-items: center;
    }
  }
  .prejoin-preview {
    position: relative;
    width: 100%;
    max-width: 640px;
    aspect-ratio: 16 / 9;
    border-radius: var(--_radius);
    background: var(--_tile-bg);
    overflow: hidden;
  }
  .prejoin-preview video {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
    object-fit: cover;
    transform: scaleX(-1);
  }
  .prejoin-preview video[hidden] {
    display: none;
  }
  .prejoin-toggles {
    position: absolute;
    left: 50%;
    bottom: 8px;
    transform: translateX(-50%);
    display: flex;
    gap: var(--_gap);
  }
  .prejoin-side {
    display: grid;
    gap: 12px;
    width: min(100%, 340px);
  }
  .prejoin-title {
    margin: 0;
    font-size: 17px;
    font-weight: 600;
  }
  .prejoin-error {
    margin: 0;
    color: #ffb4b4;
    font-size: 14px;
    line-height: 1.4;
  }
  .level {
    height: 8px;
    border-radius: 4px;
    background: var(--_control-bg);
    overflow: hidden;
  }
  .level span {
    display: block;
    height: 100%;
    background: var(--_speaking);
    transition: width 0.08s linear;
  }
  .action:disabled {
    opacity: 0.5;
    cursor: default;
  }
  .panel {
    position: absolute;
    inset: 0;
    display: grid;
    place-content: center;
    justify-items: center;
    gap: 16px;
    padding: 24px;
    text-align: center;
  }
  .panel p {
    margin: 0;
    max-width: 36em;
    line-height: 1.45;
  }
  .panel[data-kind="error"] p {
    color: #ffb4b4;
  }
  .action {
    min-height: 44px;
    padding: 0 20px;
    border: 0;
    border-radius: 22px;
    background: var(--_accent);
    color: #fff;
    font-weight: 600;
    cursor: pointer;
  }
  .reconnecting {
    position: absolute;
    top: 50%;
    left: 50%;
    transform: translate(-50%, -50%);
    z-index: 4;
    padding: 8px 16px;
    border-radius: var(--_radius);
    background: rgb(0 0 0 / 0.7);
    color: #fff;
    font-size: 15px;
    pointer-events: none;
  }
  .root[data-status="reconnecting"] .tile {
    opacity: 0.6;
  }
  .notices {
    position: absolute;
    top: var(--_gap);
    left: var(--_gap);
    right: var(--_gap);
    display: grid;
    gap: 6px;
    z-index: 3;
    pointer-events: none;
  }
  .notice,
  .audio-prompt {
    pointer-events: auto;
    display: flex;
    align-items: center;
    gap: 8px;
    padding: 6px 6px 6px 12px;
    border-radius: var(--_radius);
    background: #3b1d20;
    color: #ffd7d7;
    font-size: 14px;
  }
  .notice span {
    flex: 1;
  }
  .notice button {
    min-width: 44px;
    min-height: 44px;
    border: 0;
    background: transparent;
    cursor: pointer;
    font-size: 20px;
  }
  .audio-prompt {
    justify-content: center;
    min-height: 44px;
    border: 0;
    background: var(--_accent);
    color: #fff;
    font-weight: 600;
    cursor: pointer;
    padding: 0 16px;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
  audio {
    display: none;
  }
`;

/**
 * The connection quality icon of a tile: three signal bars, as the relay rates the participant's
 * connection (`connectionQuality`): all three lit for "good", one amber for "poor", none and a red
 * cross for "lost". Colours are the SVG's own, so the icon needs no rule in the element's styles.
 */
import { html, svg, type TemplateResult } from "lit";
import type { ConnectionQuality } from "../room/index.ts";

const LIT: Record<ConnectionQuality, number> = { good: 3, poor: 1, lost: 0 };
const COLOUR: Record<ConnectionQuality, string> = { good: "#3ecf8e", poor: "#f5a524", lost: "#f04438" };
const TEXT: Record<ConnectionQuality, string> = { good: "good connection", poor: "poor connection", lost: "connection lost" };

export function qualityIndicator(quality: ConnectionQuality): TemplateResult {
  const bars = [0, 1, 2].map((i) => svg`<rect x=${3 + i * 7} y=${16 - i * 6} width="4" height=${5 + i * 6} rx="1" fill=${i < LIT[quality] ? COLOUR[quality] : "rgb(255 255 255 / 0.35)"}/>`);
  const cross = quality === "lost" ? svg`<path d="M15 3l6 6m0-6l-6 6" stroke=${COLOUR.lost} stroke-width="2" stroke-linecap="round"/>` : svg``;
  return html`<span class="quality" part="quality-indicator" data-quality=${quality} title=${TEXT[quality]} style="display:inline-flex"
    ><svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">${bars}${cross}</svg
    ><span class="visually-hidden">${TEXT[quality]}</span></span
  >`;
}

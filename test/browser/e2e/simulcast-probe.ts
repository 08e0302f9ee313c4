/**
 * What the simulcast e2e test reads and does inside a demo page (page.evaluate): the publisher's
 * per-layer outbound stats, the subscriber's one remote video, and a timed quality switch. Every
 * function must be self-contained: it is serialized into the page.
 */
import type { OutboundLayerStats, SfuRoomElement } from "@sfu-room/sdk";

export interface RemoteVideoProbe {
  trackId: string;
  quality: string;
  packetsReceived: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  framesPerSecond: number;
  freezeCount: number;
  /** Decoded width as the tile's <video> shows it. */
  shownWidth: number;
}

export async function publisherLayers(): Promise<OutboundLayerStats[]> {
  const el = document.querySelector("sfu-room") as SfuRoomElement;
  const camera = el.session?.local.tracks.get("camera");
  return camera ? camera.getStats() : [];
}

export async function remoteVideo(): Promise<RemoteVideoProbe | null> {
  const el = document.querySelector("sfu-room") as SfuRoomElement;
  for (const p of el.session?.participants.values() ?? []) {
    const track = p.cameraTrack;
    const stats = await track?.getStats();
    if (!track || !stats) continue;
    const video = el.shadowRoot!.querySelector<HTMLVideoElement>(`video[data-track-id="${track.id}"]`);
    return {
      trackId: track.id,
      quality: track.quality,
      packetsReceived: stats.packetsReceived,
      framesDecoded: stats.framesDecoded ?? 0,
      frameWidth: stats.frameWidth ?? 0,
      frameHeight: stats.frameHeight ?? 0,
      framesPerSecond: stats.framesPerSecond ?? 0,
      freezeCount: stats.freezeCount ?? 0,
      shownWidth: video?.videoWidth ?? 0,
    };
  }
  return null;
}

/**
 * Measures the time until the tile's <video> shows frames of a width in [minWidth, maxWidth] (its
 * `resize` event; videoWidth polled every 20 ms as a fallback), after asking for `quality` with
 * RemoteTrack.setQuality, or with the element's `quality` attribute when `viaAttribute`. Not getStats:
 * Chromium caches stats reports for a while, so frameWidth can lag. ms is -1 on timeout.
 */
export async function timedSwitch(
  quality: "low" | "medium" | "high" | "auto",
  minWidth: number,
  maxWidth: number,
  timeoutMs: number,
  viaAttribute = false,
): Promise<{ ms: number; width: number }> {
  const el = document.querySelector("sfu-room") as SfuRoomElement;
  const track = [...(el.session?.participants.values() ?? [])].map((p) => p.cameraTrack).find((t) => t?.receiver);
  const video = track ? el.shadowRoot!.querySelector<HTMLVideoElement>(`video[data-track-id="${track.id}"]`) : null;
  if (!track || !video) return { ms: -1, width: 0 };
  const fits = (w: number) => w >= minWidth && w <= maxWidth;
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (width: number) => {
      if (done) return;
      done = true;
      video.removeEventListener("resize", check);
      clearInterval(timer);
      resolve({ ms: width > 0 ? Math.round(performance.now() - started) : -1, width });
    };
    const check = () => {
      if (fits(video.videoWidth)) finish(video.videoWidth);
      else if (performance.now() - started > timeoutMs) finish(0);
    };
    video.addEventListener("resize", check);
    const timer = setInterval(check, 20);
    if (viaAttribute) el.setAttribute("quality", quality);
    else void track.setQuality(quality);
  });
}

/** The widths the tile's <video> shows over `ms` (sampled every 100 ms). */
export async function widthsOver(ms: number): Promise<number[]> {
  const el = document.querySelector("sfu-room") as SfuRoomElement;
  const video = el.shadowRoot!.querySelector<HTMLVideoElement>(".tile:not([data-self]) video");
  const widths: number[] = [];
  for (let t = 0; t < ms; t += 100) {
    widths.push(video?.videoWidth ?? 0);
    await new Promise((r) => setTimeout(r, 100));
  }
  return widths;
}

/** Scrolls the call out of view (a tall spacer below it) or back. */
export function scrollCall(away: boolean): void {
  let spacer = document.getElementById("e2e-spacer");
  if (!spacer) {
    spacer = document.createElement("div");
    spacer.id = "e2e-spacer";
    spacer.style.height = "300vh";
    document.body.append(spacer);
  }
  window.scrollTo(0, away ? 2 * window.innerHeight : 0);
}

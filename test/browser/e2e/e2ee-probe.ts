/**
 * What the end-to-end encryption test reads inside an element page (page.evaluate): each remote camera's
 * decoder counters and the colour its tile shows, and the `e2ee-state-changed` events heard. Every
 * function must be self-contained: it is serialized into the page.
 */
import type { SfuRoomElement } from "@sfu-room/sdk";

export interface EncryptedVideoProbe {
  name: string;
  trackId: string;
  packetsReceived: number;
  framesDecoded: number;
  frameWidth: number;
  /** Mean RGB of the middle of the tile's picture (the test video is one colour there); null before a picture. */
  rgb: [number, number, number] | null;
}

export async function remoteCameras(): Promise<EncryptedVideoProbe[]> {
  const el = document.querySelector("sfu-room") as SfuRoomElement;
  const out: EncryptedVideoProbe[] = [];
  for (const p of el.session?.participants.values() ?? []) {
    const track = p.cameraTrack;
    if (!track) continue;
    const stats = await track.getStats();
    const video = el.shadowRoot!.querySelector<HTMLVideoElement>(`video[data-track-id="${track.id}"]`);
    let rgb: [number, number, number] | null = null;
    if (video && video.videoWidth > 0) {
      const canvas = document.createElement("canvas");
      canvas.width = 64;
      canvas.height = 36;
      const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
      ctx.drawImage(video, 0, 0, 64, 36);
      // The middle half, below the moving bar of the top eighth.
      const { data } = ctx.getImageData(16, 12, 32, 18);
      const sum = [0, 0, 0];
      for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c]! += data[i + c]!;
      const n = data.length / 4;
      rgb = [Math.round(sum[0]! / n), Math.round(sum[1]! / n), Math.round(sum[2]! / n)];
    }
    out.push({ name: p.name, trackId: track.id, packetsReceived: stats?.packetsReceived ?? 0, framesDecoded: stats?.framesDecoded ?? 0, frameWidth: stats?.frameWidth ?? 0, rgb });
  }
  return out;
}

/** Installs (before the page's scripts run) a log of the element's `e2ee-state-changed` events at window.e2eeStates. */
export function recordE2eeStates(): void {
  const log: Array<{ trackId: string; participantId: string; state: string }> = [];
  (window as unknown as { e2eeStates: typeof log }).e2eeStates = log;
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelector("sfu-room")!.addEventListener("e2ee-state-changed", (e) => log.push({ ...(e as CustomEvent).detail }));
  });
}

export function e2eeStates(): Array<{ trackId: string; participantId: string; state: string }> {
  return (window as unknown as { e2eeStates: Array<{ trackId: string; participantId: string; state: string }> }).e2eeStates;
}

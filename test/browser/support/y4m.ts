/**
 * Writes a small Y4M video for Chromium's `--use-file-for-fake-video-capture`: a moving bar and a frame
 * counter block over a coloured background, so encoders have motion to code and every frame differs.
 * 320x180 at 15 fps keeps 4 headless pages light on a 2-core machine.
 */
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname } from "node:path";

export function makeY4m(path: string, width = 320, height = 180, fps = 15, frames = 30): string {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`, "ascii");
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  const frameHeader = Buffer.from("FRAME\n", "ascii");
  const parts: Buffer[] = [header];
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(ySize);
    const u = Buffer.alloc(cSize);
    const v = Buffer.alloc(cSize);
    const cw = width / 2;
    for (let i = 0; i < cSize; i++) {
      const cx = i % cw;
      const cy = Math.floor(i / cw);
      u[i] = 80 + Math.floor((cx / cw) * 100);
      v[i] = 80 + Math.floor((cy / (height / 2)) * 100);
    }
    const barX = Math.floor((f / frames) * width);
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const inBar = col >= barX && col < barX + width / 8;
        const checker = ((col >> 4) + (row >> 4) + f) & 1;
        y[row * width + col] = inBar ? 235 : 70 + checker * 30 + Math.floor((col / width) * 50);
      }
    }
    parts.push(frameHeader, y, u, v);
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

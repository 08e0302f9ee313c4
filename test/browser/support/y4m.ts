/**
 * Writes a small Y4M video for Chromium's `--use-file-for-fake-video-capture`: a moving bar and a frame
 * counter block over a coloured background, so encoders have motion to code and every frame differs.
 * 320x180 at 15 fps keeps 4 headless pages light on a 2-core machine.
 */
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname } from "node:path";

/**
 * `busy`: a checkerboard that flips every frame (hard to compress, as camera noise is); otherwise a
 * calm picture (a gradient and the moving bar) whose keyframes are small, for tests that switch
 * simulcast layers at a low frame rate, where a large keyframe's transfer time alone counts as a freeze.
 */
export function makeY4m(path: string, width = 320, height = 180, fps = 15, frames = 30, busy = true): string {
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
        const checker = busy ? ((col >> 4) + (row >> 4) + f) & 1 : 0;
        y[row * width + col] = inBar ? 235 : 70 + checker * 30 + Math.floor((col / width) * 50) + (busy ? 0 : Math.floor((row / height) * 40));
      }
    }
    parts.push(frameHeader, y, u, v);
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

/**
 * One colour (Y, Cb, Cr) filling the picture but for a white bar moving along its top eighth (so the
 * encoder has something to code): a test can check that a decoded picture is this colour.
 */
export function makeSolidY4m(path: string, [y, u, v]: readonly [number, number, number], width = 640, height = 360, fps = 15, frames = 30): string {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`, "ascii")];
  for (let f = 0; f < frames; f++) {
    const luma = Buffer.alloc(width * height, y);
    const barX = Math.floor((f / frames) * width);
    for (let row = 0; row < height / 8; row++) luma.fill(235, row * width + barX, row * width + Math.min(width, barX + width / 8));
    parts.push(Buffer.from("FRAME\n", "ascii"), luma, Buffer.alloc((width * height) / 4, u), Buffer.alloc((width * height) / 4, v));
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

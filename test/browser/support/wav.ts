/**
 * Writes a WAV file for Chromium's `--use-file-for-fake-audio-capture`: a steady tone, so the page's
 * microphone "speaks" all the time (Chromium's default fake microphone only beeps briefly now and then).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * 16-bit mono PCM at 48 kHz; `amplitude` 0..1 of full scale (0.3 is about -10 dBFS). The tone lasts
 * `toneSeconds`, silence fills the rest (Chromium loops the file: talk spurts and pauses).
 */
export function makeToneWav(path: string, seconds = 5, frequency = 440, amplitude = 0.3, toneSeconds = seconds): string {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const rate = 48_000;
  const samples = rate * seconds;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0, "ascii");
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write("WAVEfmt ", 8, "ascii");
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write("data", 36, "ascii");
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < rate * toneSeconds; i++) wav.writeInt16LE(Math.round(Math.sin((2 * Math.PI * frequency * i) / rate) * amplitude * 32767), 44 + i * 2);
  writeFileSync(path, wav);
  return path;
}

/** Builds packages/demo with Vite into a folder of the test's choosing; returns that folder. */
import { fileURLToPath } from "node:url";
import { build } from "vite";

export const DEMO_ROOT = fileURLToPath(new URL("../../../packages/demo/", import.meta.url));

export async function buildDemo(outDir: string): Promise<string> {
  await build({ root: DEMO_ROOT, logLevel: "warn", build: { outDir, emptyOutDir: true, sourcemap: false } });
  return outDir;
}

import { defineConfig } from "vite";

// http://localhost:3000 is a secure context, so the camera works without TLS.
export default defineConfig({
  server: { port: 3000, strictPort: true, host: "localhost" },
  preview: { port: 3000, strictPort: true, host: "localhost" },
  build: { target: "es2022", sourcemap: true },
});

import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { builtinPacks } from "./vite/builtin-packs.ts";
import { ortAssets } from "./vite/ort-assets.ts";

/** Cross-origin isolation, so onnxruntime-web's WASM backend may use SharedArrayBuffer threads. */
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  plugins: [react(), ortAssets(), builtinPacks(fileURLToPath(new URL("./public/models", import.meta.url)))],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: "es" },
  optimizeDeps: { exclude: ["onnxruntime-web"] },
  build: { chunkSizeWarningLimit: 2000 },
  test: {
    include: ["src/**/*.test.ts", "workers/**/*.test.ts", "tests/**/*.test.ts"],
    exclude: ["e2e/**", "node_modules/**"],
    environment: "node",
    // ONNX sessions and Dawn devices take seconds to open on a busy 2-core machine; 5 s is too tight there.
    testTimeout: 60_000,
  },
});

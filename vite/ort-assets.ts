/** Serves (dev) and emits (build) onnxruntime-web's runtime files under `ort/`. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "vite";
import { ORT_ASSET_DIR, ORT_ASSET_FILES } from "../workers/ort-assets.ts";

const require = createRequire(import.meta.url);
const ortDist = dirname(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm"));

const contentType = (file: string) => (file.endsWith(".wasm") ? "application/wasm" : "text/javascript");

export function ortAssets(): Plugin {
  const files = Object.values(ORT_ASSET_FILES);
  return {
    name: "patchdpo:ort-assets",
    configureServer(server) {
      const prefix = `${server.config.base}${ORT_ASSET_DIR}`;
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split("?")[0] ?? "";
        const file = path.startsWith(prefix) ? path.slice(prefix.length) : "";
        if (!files.includes(file as (typeof files)[number])) return next();
        res.setHeader("Content-Type", contentType(file));
        res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
        res.end(readFileSync(join(ortDist, file)));
      });
    },
    generateBundle() {
      for (const file of files) {
        this.emitFile({
          type: "asset",
          fileName: `${ORT_ASSET_DIR}${file}`,
          source: readFileSync(join(ortDist, file)),
        });
      }
    },
  };
}

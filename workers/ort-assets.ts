/**
 * onnxruntime-web's WASM runtime files, served by the studio itself under `ort/` (never a CDN).
 * The default `onnxruntime-web` entry is the JSEP build, which provides both the WebGPU and the
 * WASM execution providers.
 */
export const ORT_ASSET_DIR = "ort/";
export const ORT_ASSET_FILES = {
  mjs: "ort-wasm-simd-threaded.jsep.mjs",
  wasm: "ort-wasm-simd-threaded.jsep.wasm",
} as const;

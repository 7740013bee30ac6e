/** The base adapter: the pack's own values of its adapter tensors, from the denoiser's weights file. */
import { parseSafetensors } from "../safetensors";
import type { Manifest } from "./manifest";

/**
 * The tensors `roles.denoiser.adapter.tensors` names, read from `roles.denoiser.weights` among
 * `files` (pack-relative path → bytes). A tensor that is absent or not float32 is left out rather
 * than failing the pack load: generation then names it (bindDenoiser).
 */
export function readBaseAdapter(manifest: Manifest, files: ReadonlyMap<string, Uint8Array>): Map<string, Float32Array> {
  const adapter = new Map<string, Float32Array>();
  const den = manifest.roles.denoiser;
  const bytes = den && files.get(den.weights.file);
  if (!den || !bytes) return adapter;
  const { tensors } = parseSafetensors(bytes, den.weights.file);
  for (const { name } of den.adapter.tensors) {
    const data = tensors.get(name)?.data;
    if (data instanceof Float32Array) adapter.set(name, data);
  }
  return adapter;
}

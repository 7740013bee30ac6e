/**
 * Trained adapters as safetensors files: one F32 tensor per manifest adapter tensor, under the
 * manifest's names and shapes (so `denoiser.adapter.tensors` of the pack describes the file), and
 * the pack id and training settings in the metadata.
 */
import type { Manifest } from "../pack/manifest";
import { requireRole } from "../pack/roles";
import { parseSafetensors, serializeSafetensors, type Tensor } from "../safetensors";

export function exportAdapter(
  manifest: Manifest,
  adapter: ReadonlyMap<string, Float32Array>,
  metadata: Record<string, string> = {},
): ArrayBuffer {
  const tensors = new Map<string, Tensor>();
  for (const { name, shape } of requireRole(manifest, "denoiser").adapter.tensors) {
    const data = adapter.get(name);
    if (!data) throw new Error(`the adapter has no tensor ${name}`);
    tensors.set(name, { dtype: "F32", shape, data });
  }
  return serializeSafetensors(tensors, { pack: manifest.id, ...metadata });
}

/**
 * Reads an adapter file for `manifest` (its bytes as the worker receives them, an ArrayBuffer, or a
 * view such as a file read in Node); every manifest tensor must be present with its shape.
 */
export function importAdapter(
  manifest: Manifest,
  bytes: ArrayBuffer | Uint8Array,
  source = "adapter.safetensors",
): { tensors: Map<string, Float32Array>; metadata: Record<string, string> } {
  const { tensors, metadata } = parseSafetensors(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), source);
  const out = new Map<string, Float32Array>();
  for (const { name, shape } of requireRole(manifest, "denoiser").adapter.tensors) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${source}: no tensor ${name}`);
    if (t.dtype !== "F32" || t.shape.join("×") !== shape.join("×"))
      throw new Error(`${source}: ${name} is ${t.dtype} [${t.shape}], expected F32 [${shape}]`);
    const bad = (t.data as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${source}: ${name}[${bad}] is ${t.data[bad]}; an adapter must hold finite numbers`);
    out.set(name, t.data as Float32Array);
  }
  if (metadata.pack && metadata.pack !== manifest.id)
    throw new Error(`${source} was trained for pack "${metadata.pack}", not "${manifest.id}"`);
  return { tensors: out, metadata };
}

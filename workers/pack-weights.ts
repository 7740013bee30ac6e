/** Weights and model files of a cached pack, read from the pack cache (integrity-checked). */
import { parseSafetensors } from "../src/core/safetensors";
import { packCache } from "./pack-cache";

async function cachedPack(packId: string) {
  const record = await packCache().record(packId);
  if (!record) throw new Error(`pack "${packId}" is not in the pack cache: load it on the Models tab first`);
  return record;
}

/** The bytes of one of a cached pack's files (pack-relative path). */
export async function packFile(packId: string, file: string): Promise<Uint8Array> {
  const entry = (await cachedPack(packId)).files.find((f) => f.file === file);
  if (!entry) throw new Error(`pack "${packId}" has no ${file} in the cache`);
  const read = await packCache().read(entry);
  if (!read.ok) throw new Error(`pack "${packId}": ${read.problem}`);
  return read.bytes;
}

/** The cached pack's manifest and the weights file of its denoiser or patch encoder (pack-relative path and bytes). */
export async function packWeightsFile(packId: string, role: "denoiser" | "patch_encoder" = "denoiser") {
  const { manifest } = await cachedPack(packId);
  const file = manifest.roles[role]?.weights?.file;
  if (!file) throw new Error(`pack "${packId}" has no ${role} weights file`);
  return { manifest, file, bytes: await packFile(packId, file) };
}

/** The cached pack's manifest and the tensors of its denoiser or patch-encoder weights. */
export async function packWeights(packId: string, role: "denoiser" | "patch_encoder" = "denoiser") {
  const { manifest, file, bytes } = await packWeightsFile(packId, role);
  const { tensors } = parseSafetensors(bytes, file);
  return { manifest, weights: new Map([...tensors].map(([n, t]) => [n, t.data as Float32Array])) };
}

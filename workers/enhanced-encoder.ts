/**
 * Enhanced patch encoders, as the studio uses them: a stored enhancement run's weights (its
 * start, the pack's encoder or random weights, with the checkpoint's trained parameters), as a
 * safetensors export and as the pack's patch_encoder.onnx with those weights written in
 * (core/enhance/encoder-onnx.ts), which every ORT path runs like the pack's own.
 */
import { initVit, vitArch } from "../src/core/engine/vit";
import { withEncoderWeights } from "../src/core/enhance/encoder-onnx";
import { parseSafetensors, serializeSafetensors } from "../src/core/safetensors";
import type { EnhanceRecord } from "./enhance-api";
import { type EnhanceCheckpoint, readEnhance, readEnhanceCheckpoint } from "./enhance-store";
import { packFile, packWeights, packWeightsFile } from "./pack-weights";

type F32 = Float32Array;

/** The weights a run starts from: the pack's trained encoder, or PyTorch-style random ones. */
export async function enhanceStart(record: Pick<EnhanceRecord, "packId" | "config">) {
  const { manifest, weights } = await packWeights(record.packId, "patch_encoder");
  const arch = vitArch(manifest);
  const start = record.config.start === "random" ? initVit(arch, record.config.seed) : weights;
  return { manifest, arch, packWeights: weights, start };
}

/** The enhanced encoder's weights: the start with the checkpoint's trained parameters. */
export function enhancedWeights(start: ReadonlyMap<string, F32>, cp: EnhanceCheckpoint | undefined): Map<string, F32> {
  return new Map([...start, ...(cp?.state.params ?? [])]);
}

/** A stored run's enhanced encoder: its weights, and the record and pack weights behind them. */
export async function enhancedEncoder(id: string) {
  const record = await readEnhance(id);
  if (!record) throw new Error(`no enhanced encoder "${id}" is stored`);
  const cp = await readEnhanceCheckpoint(id);
  if (!cp) throw new Error(`enhanced encoder "${record.label}" has no stored checkpoint yet`);
  const { start, packWeights: pack, manifest } = await enhanceStart(record);
  return { record, manifest, step: cp.step, packWeights: pack, weights: enhancedWeights(start, cp) };
}

/** The enhanced encoder as safetensors: the pack's tensor names and shapes, with its S_patch in the metadata. */
export async function enhancedEncoderFile(id: string): Promise<ArrayBuffer> {
  const { record, step, weights } = await enhancedEncoder(id);
  const { file, bytes } = await packWeightsFile(record.packId, "patch_encoder");
  const { tensors } = parseSafetensors(bytes, file);
  const out = new Map([...tensors].map(([n, t]) => [n, { ...t, data: weights.get(n) as F32 }]));
  const last = record.sPatch.at(-1);
  return serializeSafetensors(out, {
    pack: record.packId,
    label: record.label,
    step: String(step),
    config: JSON.stringify(record.config),
    s_patch_before: String(record.sPatch[0]?.top1 ?? ""),
    s_patch: String(last?.top1 ?? ""),
  });
}

/** The enhanced encoder as the pack's patch_encoder.onnx with its weights, and its record. */
export async function enhancedEncoderModel(
  id: string,
): Promise<{ model: Uint8Array; record: EnhanceRecord; step: number }> {
  const { record, step, packWeights: pack, weights, manifest } = await enhancedEncoder(id);
  const file = manifest.roles.patch_encoder?.file;
  if (!file) throw new Error(`pack "${record.packId}" has no patch_encoder`);
  return { model: withEncoderWeights(await packFile(record.packId, file), pack, weights), record, step };
}

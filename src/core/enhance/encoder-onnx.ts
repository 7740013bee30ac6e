/**
 * An enhanced patch encoder as an ONNX model: the pack's `patch_encoder.onnx` with its weights
 * rewritten in place, so every path that runs the pack's encoder (Inspect's maps, dataset builds,
 * Compare) runs the enhanced one unchanged. The exporter keeps most initializers under their
 * PyTorch names; linear weights it folds into MatMul operands (`onnx::MatMul_N`, `[in, out]`,
 * the transpose). Those are found by value: each must equal the transpose of exactly one pack
 * weight, so a model that is not the export of the pack's weights is refused, not guessed at.
 */
import { type InitializerPayload, initializerPayloads } from "../encoders/onnx-proto";

type F32 = Float32Array;
const FLOAT = 1;

export class EncoderOnnxError extends Error {
  override name = "EncoderOnnxError";
}

interface Placement {
  payload: InitializerPayload;
  /** `[in, out]` when the payload is the transpose of an `[out, in]` weight. */
  transposed?: [number, number];
}

function values(model: Uint8Array, p: InitializerPayload): F32 {
  const view = new DataView(model.buffer, model.byteOffset + p.offset, p.length);
  return Float32Array.from({ length: p.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

function isTransposeOf(payload: F32, [inF, outF]: [number, number], w: F32): boolean {
  for (let i = 0; i < inF; i++)
    for (let o = 0; o < outF; o++) if (payload[i * outF + o] !== w[o * inF + i]) return false;
  return true;
}

/** Where each of `packWeights` lies in `model` (the pack's own export of them). */
export function encoderPlacements(model: Uint8Array, packWeights: ReadonlyMap<string, F32>): Map<string, Placement> {
  const placed = new Map<string, Placement>();
  const floats = initializerPayloads(model).filter((p) => p.dataType === FLOAT);
  for (const payload of floats) {
    const direct = packWeights.get(payload.name);
    if (direct && direct.length * 4 === payload.length) {
      placed.set(payload.name, { payload });
      continue;
    }
    if (payload.dims.length !== 2) continue;
    const [inF, outF] = payload.dims as [number, number];
    const v = values(model, payload);
    const matches = [...packWeights].filter(
      ([n, w]) => !placed.has(n) && w.length === inF * outF && isTransposeOf(v, [inF, outF], w),
    );
    if (matches.length === 1) placed.set(matches[0][0], { payload, transposed: [inF, outF] });
  }
  const missing = [...packWeights.keys()].filter((n) => !placed.has(n));
  if (missing.length)
    throw new EncoderOnnxError(
      `patch_encoder.onnx does not hold the pack's patch-encoder weights ${missing.slice(0, 3).join(", ")}${
        missing.length > 3 ? ` and ${missing.length - 3} more` : ""
      } (is it the export of patch_encoder.safetensors?)`,
    );
  return placed;
}

/** A copy of `model` with `weights` (every pack weight, same sizes) in place of the pack's. */
export function withEncoderWeights(
  model: Uint8Array,
  packWeights: ReadonlyMap<string, F32>,
  weights: ReadonlyMap<string, F32>,
): Uint8Array {
  const out = model.slice();
  for (const [name, { payload, transposed }] of encoderPlacements(model, packWeights)) {
    const w = weights.get(name);
    if (!w || w.length * 4 !== payload.length)
      throw new EncoderOnnxError(`enhanced weights: ${name} ${w ? `has ${w.length} values` : "is missing"}`);
    const view = new DataView(out.buffer, out.byteOffset + payload.offset, payload.length);
    if (!transposed) for (let i = 0; i < w.length; i++) view.setFloat32(4 * i, w[i], true);
    else {
      const [inF, outF] = transposed;
      for (let i = 0; i < inF; i++)
        for (let o = 0; o < outF; o++) view.setFloat32(4 * (i * outF + o), w[o * inF + i], true);
    }
  }
  return out;
}

/**
 * What the denoiser's image attention attends over: one reference's `imageTokens` tokens, or, for
 * a denoiser grown for several references (`maxReferences` > 1), up to that many references'
 * tokens concatenated, reference k's with the learned `ref_embed[k]` added so that the attention
 * can tell the subjects apart (foundry nets.Denoiser). The embedding is frozen, so it is a constant
 * shift of the keys' input: the gradient with respect to the tokens passes through unchanged.
 */
import type { DenoiserArch } from "./arch";
import type { F32 } from "./ops";

export interface ImageKeys {
  /** Image tokens per item: references × `arch.imageTokens`. */
  keys: number;
  /** `[B, keys, imageDim]`, the reference embedding added. */
  tokens: F32;
}

export function imageKeys(a: DenoiserArch, tokens: F32, batch: number, refEmbed?: F32): ImageKeys {
  const perReference = a.imageTokens * a.imageDim;
  const references = tokens.length / (batch * perReference);
  if (!Number.isInteger(references) || references < 1 || references > a.maxReferences) {
    const most = a.maxReferences === 1 ? "1 reference" : `1 to ${a.maxReferences} references`;
    throw new RangeError(
      `image tokens: ${tokens.length} values for ${batch} items is not ${most} of ${a.imageTokens}×${a.imageDim}`,
    );
  }
  if (a.maxReferences === 1) return { keys: a.imageTokens, tokens };
  if (refEmbed?.length !== a.maxReferences * a.imageDim)
    throw new RangeError(`ref_embed: expected ${a.maxReferences}×${a.imageDim} values, got ${refEmbed?.length}`);
  const out = tokens.slice();
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < references; r++) {
      const base = (b * references + r) * perReference;
      for (let t = 0; t < a.imageTokens; t++) {
        for (let d = 0; d < a.imageDim; d++) out[base + t * a.imageDim + d] += refEmbed[r * a.imageDim + d];
      }
    }
  }
  return { keys: references * a.imageTokens, tokens: out };
}

/** Several references' image tokens as the denoiser takes them: `tokens[order[0]]`, then `tokens[order[1]]`… */
export function concatReferences(
  tokens: Float32Array[],
  order: readonly number[] = tokens.map((_, k) => k),
): Float32Array {
  if (order.length !== tokens.length) throw new RangeError(`${tokens.length} references, ${order.length} in the order`);
  const out = new Float32Array(tokens.reduce((n, t) => n + t.length, 0));
  let at = 0;
  for (const k of order) {
    out.set(tokens[k], at);
    at += tokens[k].length;
  }
  return out;
}

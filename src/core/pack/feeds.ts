/** Builds a role's inputs from its manifest signature: the data given, or zeros (e.g. to check that a pack's models run). */
import type { Dim, TensorSpec } from "./manifest";
import { formatShape } from "./signature";

export interface FeedTensor {
  dtype: "float32" | "int64";
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** `imageTokens`: the size of an "image_tokens" dimension (references × tokens per reference). */
export function concreteShape(shape: Dim[], batch: number, imageTokens?: number): number[] {
  return shape.map((d) => {
    if (d === "batch") return batch;
    if (d !== "image_tokens") return d;
    if (imageTokens === undefined) throw new RangeError('an "image_tokens" dimension needs the image token count');
    return imageTokens;
  });
}

/**
 * `data` as the input `t` at `batch`: its manifest dtype and shape. An "image_tokens" dimension
 * takes whatever the data holds once the fixed dimensions are divided out.
 */
export function feed(t: TensorSpec, batch: number, data: Float32Array | BigInt64Array): FeedTensor {
  const fixed = concreteShape(t.shape, batch, 1).reduce((a, b) => a * b, 1);
  const dims = concreteShape(
    t.shape,
    batch,
    t.shape.includes("image_tokens") ? Math.max(1, Math.floor(data.length / fixed)) : undefined,
  );
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new RangeError(`${t.name}: ${data.length} values for shape ${formatShape(dims)}`);
  if (data instanceof BigInt64Array !== (t.dtype === "int64"))
    throw new TypeError(`${t.name}: expected ${t.dtype} data`);
  return { dtype: t.dtype, dims, data };
}

/**
 * All-zero tensors for every input (zero is the null token for int64 prompt ids); an
 * "image_tokens" dimension gets `imageTokens` (one reference's).
 */
export function zeroFeeds(inputs: TensorSpec[], batch = 1, imageTokens?: number): Record<string, FeedTensor> {
  const feeds: Record<string, FeedTensor> = {};
  for (const t of inputs) {
    const size = concreteShape(t.shape, batch, imageTokens).reduce((a, b) => a * b, 1);
    feeds[t.name] = feed(t, batch, t.dtype === "float32" ? new Float32Array(size) : new BigInt64Array(size));
  }
  return feeds;
}

/** Builds a role's inputs from its manifest signature: the data given, or zeros (e.g. to check that a pack's models run). */
import type { Dim, TensorSpec } from "./manifest";
import { formatShape } from "./signature";

export interface FeedTensor {
  dtype: "float32" | "int64";
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export function concreteShape(shape: Dim[], batch: number): number[] {
  return shape.map((d) => (d === "batch" ? batch : d));
}

/** `data` as the input `t` at `batch`: its manifest dtype and shape. */
export function feed(t: TensorSpec, batch: number, data: Float32Array | BigInt64Array): FeedTensor {
  const dims = concreteShape(t.shape, batch);
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new RangeError(`${t.name}: ${data.length} values for shape ${formatShape(dims)}`);
  if (data instanceof BigInt64Array !== (t.dtype === "int64"))
    throw new TypeError(`${t.name}: expected ${t.dtype} data`);
  return { dtype: t.dtype, dims, data };
}

/** All-zero tensors for every input (zero is the null token for int64 prompt ids). */
export function zeroFeeds(inputs: TensorSpec[], batch = 1): Record<string, FeedTensor> {
  const feeds: Record<string, FeedTensor> = {};
  for (const t of inputs) {
    const size = concreteShape(t.shape, batch).reduce((a, b) => a * b, 1);
    feeds[t.name] = feed(t, batch, t.dtype === "float32" ? new Float32Array(size) : new BigInt64Array(size));
  }
  return feeds;
}

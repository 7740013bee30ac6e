/** Builds inputs for a role from its manifest signature, e.g. to check that a pack's models run. */
import type { Dim, TensorSpec } from "./manifest";

export interface ZeroTensor {
  dtype: "float32" | "int64";
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export function concreteShape(shape: Dim[], batch: number): number[] {
  return shape.map((d) => (d === "batch" ? batch : d));
}

/** All-zero tensors for every input (zero is the null token for int64 prompt ids). */
export function zeroFeeds(inputs: TensorSpec[], batch = 1): Record<string, ZeroTensor> {
  const feeds: Record<string, ZeroTensor> = {};
  for (const t of inputs) {
    const dims = concreteShape(t.shape, batch);
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[t.name] = {
      dtype: t.dtype,
      dims,
      data: t.dtype === "float32" ? new Float32Array(size) : new BigInt64Array(size),
    };
  }
  return feeds;
}

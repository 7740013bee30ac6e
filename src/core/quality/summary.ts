/** Histogram and mean of patch qualities, for the Inspect tab and reports. */

export interface QualitySummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  /** `bins + 1` bin edges from `range[0]` to `range[1]`. */
  edges: Float64Array;
  /** Values per bin; values outside the range are clamped into the first or last bin. */
  counts: Uint32Array;
}

export function summarizeQuality(
  values: ArrayLike<number>,
  bins = 20,
  range: [number, number] = [-1, 1],
): QualitySummary {
  const [lo, hi] = range;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  if (!(hi > lo)) throw new RangeError(`empty histogram range [${lo}, ${hi}]`);
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = lo + ((hi - lo) * i) / bins;
  const counts = new Uint32Array(bins);
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    const bin = Math.floor(((v - lo) / (hi - lo)) * bins);
    counts[Math.min(bins - 1, Math.max(0, bin))]++;
  }
  const count = values.length;
  return { count, mean: count ? sum / count : Number.NaN, min, max, edges, counts };
}

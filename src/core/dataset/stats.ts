/** Statistics of a preference dataset for the Dataset tab: mean quality per sample and reference, histograms. */
import { type QualitySummary, summarizeQuality } from "../quality/summary";
import type { PreferenceDataset } from "./types";

export const meanOf = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return v.length ? s / v.length : Number.NaN;
};

export interface SampleStats {
  /** Mean of `m_gen` (how well the generated image's patches match the reference). */
  gen: number;
  /** Mean of `m_ref` (how much of the reference the generated image reproduces). */
  ref: number;
}

export interface ReferenceStats {
  id: string;
  samples: number;
  gen: number;
  ref: number;
  /** Lowest and highest per-sample `gen` mean: the spread a quality pairing can use. */
  worst: number;
  best: number;
}

export interface DatasetStats {
  samples: SampleStats[];
  references: ReferenceStats[];
  /** Over all samples. */
  gen: number;
  ref: number;
  /** Per-patch histograms of `m_gen` and `m_ref` over [-1, 1]. */
  genHistogram: QualitySummary;
  refHistogram: QualitySummary;
}

/** The arrays end to end (e.g. every sample's per-patch map, for one histogram). */
export function concat(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export function datasetStats(ds: PreferenceDataset, bins = 20): DatasetStats {
  const samples = ds.samples.map((s) => ({ gen: meanOf(s.mGen), ref: meanOf(s.mRef) }));
  const references = ds.references.map((r, i) => {
    const own = samples.filter((_, j) => ds.samples[j].ref === i);
    const gens = own.map((s) => s.gen);
    return {
      id: r.id,
      samples: own.length,
      gen: meanOf(gens),
      ref: meanOf(own.map((s) => s.ref)),
      worst: own.length ? Math.min(...gens) : Number.NaN,
      best: own.length ? Math.max(...gens) : Number.NaN,
    };
  });
  return {
    samples,
    references,
    gen: meanOf(samples.map((s) => s.gen)),
    ref: meanOf(samples.map((s) => s.ref)),
    genHistogram: summarizeQuality(concat(ds.samples.map((s) => s.mGen)), bins),
    refHistogram: summarizeQuality(concat(ds.samples.map((s) => s.mRef)), bins),
  };
}

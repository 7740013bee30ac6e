/**
 * A training step's batch and objective from a preference dataset, for each of the studio's
 * training losses (DESIGN.md §2). Every loss is composed from the engine's two objectives
 * (core/engine/trainer.ts: weighted MSE and Diffusion-DPO over per-sample weighted errors), so
 * every loss runs unchanged on the CPU engine and the WGSL engine.
 *
 * Every item of a step is noised with one shared noise ε and timestep t:
 * `z_t = √ᾱ_t·z_0 + √(1−ᾱ_t)·ε`, target ε, conditioned on the reference's image tokens. With
 * `w_gen = W(m_gen)`, `w_ref = W(m_ref)` the weight maps of core/training/weights.ts at latent
 * resolution and `r = ε_θ(z_t) − ε`:
 *
 * - `patchdpo` — PatchDPO as in the official code (github.com/hqhQAQ/PatchDPO, train script):
 *   `L = mean[(1 − w_ref) ⊙ r_ref² + w_gen ⊙ r_gen²]`, the mean over one image's elements. As a
 *   weighted MSE over the two-item batch [ref, gen], whose mean is over twice the elements, the
 *   weights are doubled. Without the reference term: `L = mean[w_gen ⊙ r_gen²]`.
 * - `patchdpo-bounded` — the paper's signed reading ("reward good patches, penalize bad ones")
 *   made bounded by anchoring to the frozen reference model ε_ref as Diffusion-DPO does. With
 *   signed weights `s = 2·w_gen − 1` and `Δ = r_θ² − r_ref²` per element (policy minus reference
 *   model):  `L = softplus(β·mean[s ⊙ Δ_gen])`, plus with the reference term
 *   `softplus(β·mean[(1 − w_ref) ⊙ Δ_ref])`, averaged. It falls as good patches improve and bad
 *   patches worsen relative to the frozen model, and is bounded below by 0. In engine terms each
 *   softplus is a DPO pair: winner = the item weighted by `max(s, 0)`, loser = the same item
 *   weighted by `max(−s, 0)` (the reference pair's loser has weight 0). The anchor is per image
 *   (one sigmoid over a patch-weighted error), not one sigmoid per patch.
 * - `dpo` — image-level Diffusion-DPO (Wallace et al. 2023):
 *   `L = −log σ(−β·[(‖r_θ^w‖² − ‖r_ref^w‖²) − (‖r_θ^l‖² − ‖r_ref^l‖²)])` with winner/loser the
 *   reference vs the generated image (`pairing: "reference"`), or the better vs the worse of two
 *   images generated from one reference by mean patch quality (`pairing: "quality"`).
 * - `mse` — plain fine-tuning: `L = mean[r²]` over the same items as `patchdpo`, unweighted.
 *
 * Two-subject samples (multi-subject personalization) condition the generated image on both
 * references (in the denoiser's order) and `w_gen` comes from the identity-aware `m_gen`; the
 * reference term has one item per reference, each conditioned on its own reference alone with
 * `w_ref` from that subject's `m_ref`. An engine batch holds one reference count, so a step takes
 * one part of the loss, by `StepDraw.part` (the loop alternates them): the generated image with
 * its term's weight doubled, or both references, whose mean over the two items is the single-
 * subject reference term averaged over A and B. Over two steps the expected loss is the
 * single-subject loss with that averaged reference term: for `patchdpo`
 * `L = mean[w_gen ⊙ r_gen²] + ½ Σ_k mean[(1 − w_ref,k) ⊙ r_ref,k²]`; `patchdpo-bounded` averages
 * its generated softplus with the mean of the two references' softpluses; `mse` the same
 * unweighted. `dpo` pairs two generated images by quality only: no single image is both
 * references, so the reference cannot be the winner.
 */

import { type DatasetSample, meanQuality, type PreferenceDataset, sampleReferences } from "../dataset/types";
import type { DenoiserInputs } from "../engine/denoiser";
import { concatReferences } from "../engine/references";
import type { Objective, TrainingBatch } from "../engine/trainer";
import { type LatentShape, qualityWeights, signedParts, toLatent, type WeightOptions } from "./weights";

export const METHODS = ["patchdpo", "patchdpo-bounded", "dpo", "mse"] as const;
export type Method = (typeof METHODS)[number];

/** A two-subject step's share of the loss: the generated image, or both references. */
export type LossPart = "generated" | "references";

export interface LossOptions {
  method: Method;
  /** β of the DPO-style losses. */
  beta: number;
  weights: WeightOptions;
  /** Whether the reference image enters as a training item (`patchdpo`, `patchdpo-bounded`, `mse`). */
  useReference: boolean;
  /** Winner/loser choice of `dpo`. */
  pairing: "reference" | "quality";
}

/** One training item before noising: a clean latent, its conditioning and its loss weights. */
interface Item {
  latent: Float32Array;
  imageTokens: Float32Array;
  promptIds: ArrayLike<number>;
  /** Per-element weights; null means 1 everywhere. */
  weight: Float32Array | null;
}

export interface StepDraw {
  /** Index of the sample the step trains on. */
  sample: number;
  /** A second sample of the same reference (`dpo` with `pairing: "quality"`). */
  other?: number;
  /** ε, one latent's worth, shared by every item. */
  noise: Float32Array;
  timestep: number;
  /** Two-subject samples: the part of the loss this step takes (module comment); default "generated". */
  part?: LossPart;
}

export interface LossStep {
  batch: TrainingBatch;
  objective: Objective;
}

const scaled = (w: Float32Array, k: number) => w.map((v) => v * k);

function stack(items: Item[], draw: StepDraw, alphasCumprod: Float64Array, ipScale: number): TrainingBatch {
  const ab = alphasCumprod[draw.timestep];
  const a = Math.sqrt(ab);
  const s = Math.sqrt(1 - ab);
  const n = draw.noise.length;
  const latent = new Float32Array(items.length * n);
  const target = new Float32Array(items.length * n);
  const promptLength = items[0].promptIds.length;
  const promptIds = new Int32Array(items.length * promptLength);
  const tokenCount = items[0].imageTokens.length;
  const imageTokens = new Float32Array(items.length * tokenCount);
  const anyWeight = items.some((it) => it.weight);
  const weight = anyWeight ? new Float32Array(items.length * n) : undefined;
  items.forEach((it, i) => {
    if (it.latent.length !== n) throw new RangeError(`item latent has ${it.latent.length} values, noise ${n}`);
    for (let j = 0; j < n; j++) latent[i * n + j] = a * it.latent[j] + s * draw.noise[j];
    target.set(draw.noise, i * n);
    promptIds.set(Array.from(it.promptIds), i * promptLength);
    imageTokens.set(it.imageTokens, i * tokenCount);
    if (weight) weight.set(it.weight ?? new Float32Array(n).fill(1), i * n);
  });
  const inputs: DenoiserInputs = {
    latent,
    timestep: new Float32Array(items.length).fill(draw.timestep),
    promptIds,
    imageTokens,
    ipScale,
  };
  return { inputs, target, weight };
}

/**
 * The batch and engine objective of one training step of `o.method` on `draw.sample`.
 * `latent`: the latent shape the quality maps are upsampled to.
 */
export function buildStep(
  ds: PreferenceDataset,
  draw: StepDraw,
  o: LossOptions,
  latent: LatentShape,
  alphasCumprod: Float64Array,
  ipScale = 1,
): LossStep {
  const gen = ds.samples[draw.sample];
  const ref = ds.references[gen.ref];
  const w = (m: Float32Array) => toLatent(qualityWeights(m, o.weights), ds.grid, latent);
  // Each sample's own order: two images of one pair may place B first in one and not the other.
  const genItem = (s: DatasetSample, weight: Float32Array | null): Item => ({
    latent: s.latent,
    imageTokens: s.second
      ? concatReferences(sampleReferences(s).map((k) => ds.references[k].imageTokens))
      : ds.references[s.ref].imageTokens,
    promptIds: s.promptIds,
    weight,
  });
  const refItem = (weight: Float32Array | null): Item => ({
    latent: ref.latent,
    imageTokens: ref.imageTokens,
    promptIds: ref.promptIds,
    weight,
  });
  const batch = (items: Item[]) => stack(items, draw, alphasCumprod, ipScale);
  const dpo: Objective = { kind: "dpo", beta: o.beta };
  if (gen.second && o.method !== "dpo") {
    const wGen = w(gen.mGen);
    const subjects = [
      { ref: ds.references[gen.ref], mRef: gen.mRef },
      { ref: ds.references[gen.second.ref], mRef: gen.second.mRef },
    ];
    const refItems = (weight: (mRef: Float32Array) => Float32Array | null): Item[] =>
      subjects.map(({ ref: r, mRef }) => ({ ...r, weight: weight(mRef) }));
    if (o.useReference && draw.part === "references") {
      if (o.method === "mse") return { batch: batch(refItems(() => null)), objective: { kind: "mse" } };
      if (o.method === "patchdpo")
        return { batch: batch(refItems((m) => w(m).map((v) => 2 * (1 - v)))), objective: { kind: "mse" } };
      const zero = new Float32Array(wGen.length);
      return { batch: batch([...refItems((m) => w(m).map((v) => 1 - v)), ...refItems(() => zero)]), objective: dpo };
    }
    const twice = o.useReference ? 2 : 1;
    if (o.method === "mse") return { batch: batch([genItem(gen, null)]), objective: { kind: "mse" } };
    if (o.method === "patchdpo")
      return { batch: batch([genItem(gen, scaled(wGen, twice))]), objective: { kind: "mse" } };
    const { positive, negative } = signedParts(wGen);
    return { batch: batch([genItem(gen, positive), genItem(gen, negative)]), objective: dpo };
  }

  switch (o.method) {
    case "mse":
      return {
        batch: batch(o.useReference ? [refItem(null), genItem(gen, null)] : [genItem(gen, null)]),
        objective: { kind: "mse" },
      };
    case "patchdpo": {
      const wGen = w(gen.mGen);
      if (!o.useReference) return { batch: batch([genItem(gen, wGen)]), objective: { kind: "mse" } };
      const wRef = w(gen.mRef).map((v) => 2 * (1 - v));
      return { batch: batch([refItem(wRef), genItem(gen, scaled(wGen, 2))]), objective: { kind: "mse" } };
    }
    case "patchdpo-bounded": {
      const { positive, negative } = signedParts(w(gen.mGen));
      if (!o.useReference) return { batch: batch([genItem(gen, positive), genItem(gen, negative)]), objective: dpo };
      const wRef = w(gen.mRef).map((v) => 1 - v);
      const zero = new Float32Array(wRef.length);
      // Winners first, then losers: [gen⁺, ref(1 − w_ref)] vs [gen⁻, ref·0].
      return {
        batch: batch([genItem(gen, positive), refItem(wRef), genItem(gen, negative), refItem(zero)]),
        objective: dpo,
      };
    }
    case "dpo": {
      if (o.pairing === "reference") {
        if (gen.second) throw new Error("image-level DPO on two-subject samples pairs generated images by quality");
        return { batch: batch([refItem(null), genItem(gen, null)]), objective: dpo };
      }
      if (draw.other === undefined) throw new Error("dpo by quality needs a second sample of the same reference");
      const other = ds.samples[draw.other];
      if (other.ref !== gen.ref || other.second?.ref !== gen.second?.ref)
        throw new Error("dpo by quality compares two samples of the same reference (or pair of references)");
      const [winner, loser] = meanQuality(gen) >= meanQuality(other) ? [gen, other] : [other, gen];
      return { batch: batch([genItem(winner, null), genItem(loser, null)]), objective: dpo };
    }
  }
}

/** Each item of a batch, sliced out: every per-item array's share. */
function itemsOf(b: TrainingBatch) {
  const items = b.inputs.timestep.length;
  const ids = Int32Array.from(b.inputs.promptIds);
  const part = <T extends Float32Array | Int32Array>(a: T, item: number) => {
    const n = a.length / items;
    return a.subarray(item * n, (item + 1) * n) as T;
  };
  return Array.from({ length: items }, (_, k) => ({
    latent: part(b.inputs.latent, k),
    timestep: b.inputs.timestep[k],
    promptIds: part(ids, k),
    imageTokens: part(b.inputs.imageTokens, k),
    target: part(b.target, k),
    weight: b.weight && part(b.weight, k),
  }));
}

/**
 * One step over several draws (`TrainConfig.batchSize`): their batches stacked into one, so the
 * engines' mean over items is the mean over draws of each draw's loss (every draw of a method has
 * the same item count). DPO-style batches keep all winners before all losers, as the objective
 * pairs item p with item P + p.
 */
export function mergeSteps(steps: LossStep[]): LossStep {
  if (steps.length === 1) return steps[0];
  const { objective } = steps[0];
  const halves = objective.kind === "dpo" ? 2 : 1;
  const perStep = steps.map((s) => itemsOf(s.batch));
  const half = perStep[0].length / halves;
  const parts = Array.from({ length: halves }, (_, h) =>
    perStep.flatMap((its) => its.slice(h * half, (h + 1) * half)),
  ).flat();
  type Part = (typeof parts)[number];
  const cat = <T extends Float32Array | Int32Array>(make: new (n: number) => T, pick: (p: Part) => T) => {
    const out = new make(parts.reduce((n, p) => n + pick(p).length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(pick(p), at);
      at += pick(p).length;
    }
    return out;
  };
  const ones = new Float32Array(parts[0].target.length).fill(1);
  return {
    batch: {
      inputs: {
        latent: cat(Float32Array, (p) => p.latent),
        timestep: Float32Array.from(parts, (p) => p.timestep),
        promptIds: cat(Int32Array, (p) => p.promptIds),
        imageTokens: cat(Float32Array, (p) => p.imageTokens),
        ipScale: steps[0].batch.inputs.ipScale,
      },
      target: cat(Float32Array, (p) => p.target),
      weight: parts.some((p) => p.weight) ? cat(Float32Array, (p) => p.weight ?? ones) : undefined,
    },
    objective,
  };
}

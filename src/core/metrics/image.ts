/**
 * Every metric of one generated image against its reference (and, with a scene kit, against the
 * ground-truth scene). Keys, all "higher is better":
 * - `patch_quality`: mean patch quality `mean_{h,w} max_{i,j} cos(f(x_gen)[h,w], f(x_ref)[i,j])`
 *   under the pack's patch encoder (the training signal);
 * - `patch_quality_independent`: the same under `evaluators.independent`, a network that was never
 *   a training signal, so a gain there is evidence beyond the training signal agreeing with itself;
 * - `global_sim_independent`: cosine of that evaluator's global embeddings of generated and
 *   reference (the DINO-score analogue), when it has an embedding output;
 * - `patch_quality_random`: patch quality under the random-weight encoder, an ablation (it does not
 *   predict ground-truth error, DESIGN.md §7);
 * - `dino`, `clip_i`: cosine of the global embeddings of generated and reference (user evaluators);
 * - the scene metrics of ./scene.ts.
 */
import type { RgbaImage } from "../generate";
import type { EvaluatorName, PairPrompt, ScenePrompt } from "../pack/manifest";
import { patchQualityCpu } from "../quality/cpu";
import type { Grid } from "../quality/maps";
import { assignSubjects, backgroundPatches, identityLeakage, ownersFromMasks } from "../quality/subjects";
import { rgbaToHwc, type SceneRenderer } from "../scene/render";
import { cosine, type Encoded, encodeImage, type ImageEncoder } from "./image-encoder";
import { PAIR_SCENE_METRICS, pairSceneMetrics, sceneMetrics } from "./scene";

export const PATCH_METRICS = ["patch_quality", "patch_quality_independent", "patch_quality_random"] as const;
/** Global similarities under user encoders, one slot each in the Compare tab. */
export const GLOBAL_METRICS = ["dino", "clip_i"] as const;
/** Global similarities under the pack's own evaluators. */
export const PACK_GLOBAL_METRICS = ["global_sim_independent"] as const;
export type PatchMetric = (typeof PATCH_METRICS)[number];
export type GlobalMetric = (typeof GLOBAL_METRICS)[number];
export type PackGlobalMetric = (typeof PACK_GLOBAL_METRICS)[number];

export interface MetricSuite {
  patch: Partial<Record<PatchMetric, ImageEncoder>>;
  global: Partial<Record<GlobalMetric | PackGlobalMetric, ImageEncoder>>;
  scene?: SceneRenderer;
}

/** The encoder part of a suite. */
export type EncoderMetrics = Pick<MetricSuite, "patch" | "global">;

/** The pack evaluator behind each metric it gives. */
const EVALUATOR_OF = {
  patch_quality_independent: "independent",
  global_sim_independent: "independent",
  patch_quality_random: "patch_encoder_random",
} as const satisfies Record<string, EvaluatorName>;

/**
 * The metrics of the pack's evaluators: patch quality under each, and global similarity under the
 * independent one when its spec has an embedding output.
 */
export function evaluatorSuite(encoders: Partial<Record<EvaluatorName, ImageEncoder>>): EncoderMetrics {
  const { independent, patch_encoder_random: random } = encoders;
  const suite: EncoderMetrics = { patch: {}, global: {} };
  if (independent) {
    suite.patch.patch_quality_independent = independent;
    if (independent.spec.embedding_output) suite.global.global_sim_independent = independent;
  }
  if (random) suite.patch.patch_quality_random = random;
  return suite;
}

/** The note a report carries when the pack lacks an evaluator: which metrics are missing. */
export function missingEvaluatorNote(name: EvaluatorName): string {
  const keys = Object.entries(EVALUATOR_OF)
    .filter(([, e]) => e === name)
    .map(([k]) => k);
  return `the pack has no evaluators.${name}: no ${keys.join(", ")}`;
}

/** Metric key → `evaluators.<name>` for the evaluator metrics of a suite, for reports. */
export function evaluatorSources(suite: EncoderMetrics): Record<string, string> {
  const keys = [...Object.keys(suite.patch), ...Object.keys(suite.global)].filter((k) => k in EVALUATOR_OF);
  return Object.fromEntries(keys.map((k) => [k, `evaluators.${EVALUATOR_OF[k as keyof typeof EVALUATOR_OF]}`]));
}

export interface ImageEvaluation {
  metrics: Record<string, number>;
  /** Patch-quality map per patch metric, `[H·W]` row-major (for heatmaps). */
  maps: Record<string, Float32Array>;
}

/** Mean of `max_{i,j} cos(gen[p], ref[i,j])` over generated patches, and the map itself. */
export function patchQualityOf(gen: Float32Array, ref: Float32Array, dim: number): { mean: number; map: Float32Array } {
  const patches = gen.length / dim;
  const r = patchQualityCpu(gen, ref, { batch: 1, genPatches: patches, refPatches: ref.length / dim, dim });
  let sum = 0;
  for (const v of r.genMax) sum += v;
  return { mean: sum / patches, map: r.genMax };
}

/** Mean of `values` over the patches `owners` gives to `k` (NaN when it owns none). */
function ownedMean(values: Float32Array, owners: Int8Array, k: number): number {
  let sum = 0;
  let n = 0;
  for (let j = 0; j < owners.length; j++) {
    if (owners[j] !== k) continue;
    sum += values[j];
    n++;
  }
  return n ? sum / n : Number.NaN;
}

/** Metric keys of two-subject images: per subject `_a`, `_b`, the leakage, and the kit's pair metrics. */
export function pairMetricKeys(suite: MetricSuite, withScene: boolean): string[] {
  const patch = Object.keys(suite.patch).flatMap((k) => [k, `${k}_a`, `${k}_b`]);
  const global = Object.keys(suite.global).flatMap((k) => [`${k}_a`, `${k}_b`]);
  const leakage = suite.patch.patch_quality_independent ? ["identity_leakage"] : [];
  return [...patch, ...global, ...leakage, ...(withScene && suite.scene ? PAIR_SCENE_METRICS : [])];
}

/** The value cached under `key`, made on first use. */
function cached<K, V>(cache: Map<K, V>, key: K, make: () => V): V {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key) as V;
}

/**
 * Evaluates images one by one; each reference is encoded once per encoder, and each generated image
 * once per encoder even when that encoder gives several metrics.
 */
export class ImageEvaluator {
  private readonly refs = new Map<ImageEncoder, Map<string, Promise<Encoded>>>();

  constructor(readonly suite: MetricSuite) {}

  /** Metric keys this suite produces for a subject/prompt that the scene kit covers or not. */
  keys(withScene: boolean): string[] {
    const keys = [...Object.keys(this.suite.patch), ...Object.keys(this.suite.global)];
    if (withScene && this.suite.scene)
      keys.push("subject_region_psnr_db", "scene_psnr_db", "background_acc", "position_acc", "size_acc");
    return keys;
  }

  /** Whether the scene metrics apply: a kit with this subject and every slot of the prompt. */
  scenes(subject: string, prompt: ScenePrompt): boolean {
    const s = this.suite.scene;
    return (
      !!s &&
      s.has(subject) &&
      (["background", "position", "size"] as const).every((k) => s.values(k).includes(prompt[k]))
    );
  }

  private reference(enc: ImageEncoder, subject: string, image: RgbaImage): Promise<Encoded> {
    const bySubject = cached(this.refs, enc, () => new Map<string, Promise<Encoded>>());
    return cached(bySubject, subject, () => encodeImage(enc, image, `reference ${subject}`));
  }

  async evaluate(
    subject: string,
    prompt: ScenePrompt,
    reference: RgbaImage,
    generated: RgbaImage,
  ): Promise<ImageEvaluation> {
    const metrics: Record<string, number> = {};
    const maps: Record<string, Float32Array> = {};
    const encoders = [...Object.entries(this.suite.patch), ...Object.entries(this.suite.global)] as [
      string,
      ImageEncoder,
    ][];
    const generatedBy = new Map<ImageEncoder, Promise<Encoded>>();
    for (const [key, enc] of encoders) {
      const ref = await this.reference(enc, subject, reference);
      const gen = await cached(generatedBy, enc, () => encodeImage(enc, generated, "generated image"));
      if (key in this.suite.patch) {
        const q = patchQualityOf(gen.patches, ref.patches, enc.spec.dim);
        metrics[key] = q.mean;
        maps[key] = q.map;
      } else {
        metrics[key] = cosine(gen.pooled, ref.pooled);
      }
    }
    if (this.suite.scene && this.scenes(subject, prompt)) {
      Object.assign(metrics, sceneMetrics(this.suite.scene, subject, prompt, rgbaToHwc(generated)));
    }
    return { metrics, maps };
  }

  /** Whether the two-subject scene metrics apply: a kit with both subjects, the layout and every slot. */
  pairScenes(a: string, b: string, prompt: PairPrompt): boolean {
    const s = this.suite.scene;
    return (
      !!s?.kit.pairs?.layouts[prompt.layout] &&
      s.has(a) &&
      s.has(b) &&
      s.values("background").includes(prompt.background) &&
      s.values("size").includes(prompt.size)
    );
  }

  /**
   * A two-subject image (core/quality/subjects.ts): each patch metric as the identity-aware mean
   * (`key`) and each subject's quality over the patches it owns (`key_a`, `key_b`; owners from the
   * ground-truth masks where the kit covers the scene, else from the layout), the identity-leakage
   * rate under the independent evaluator, global similarity to each reference, and the kit's pair
   * metrics (subject_region_psnr_db_a / _b, scene_psnr_db).
   */
  async evaluatePair(
    subjects: [string, string],
    prompt: PairPrompt,
    references: [RgbaImage, RgbaImage],
    generated: RgbaImage,
    layoutOwners: (grid: Grid) => Int8Array,
  ): Promise<ImageEvaluation> {
    const metrics: Record<string, number> = {};
    const maps: Record<string, Float32Array> = {};
    const scene = this.suite.scene;
    const truth = scene && this.pairScenes(subjects[0], subjects[1], prompt);
    const generatedBy = new Map<ImageEncoder, Promise<Encoded>>();
    const encoded = async (enc: ImageEncoder) => ({
      gen: await cached(generatedBy, enc, () => encodeImage(enc, generated, "generated image")),
      refs: await Promise.all(subjects.map((s, k) => this.reference(enc, s, references[k]))),
    });
    for (const [key, enc] of Object.entries(this.suite.patch) as [string, ImageEncoder][]) {
      const { gen, refs } = await encoded(enc);
      const grid = { height: enc.spec.grid[0], width: enc.spec.grid[1] };
      const owners = truth
        ? ownersFromMasks(scene.pairMasks(subjects[0], subjects[1], prompt), scene.size, grid)
        : layoutOwners(grid);
      const n = grid.height * grid.width;
      const perRef = refs.map((r) => {
        const q = patchQualityCpu(gen.patches, r.patches, {
          batch: 1,
          genPatches: n,
          refPatches: n,
          dim: enc.spec.dim,
        });
        return { gen: q.genMax, genMatch: q.genArg };
      });
      const background = references.map((r) => backgroundPatches(r, grid, enc.background));
      const assigned = assignSubjects(perRef, owners, background);
      metrics[key] = assigned.gen.reduce((s, v) => s + v, 0) / n;
      metrics[`${key}_a`] = ownedMean(assigned.quality[0], owners, 0);
      metrics[`${key}_b`] = ownedMean(assigned.quality[1], owners, 1);
      if (key === "patch_quality_independent") metrics.identity_leakage = identityLeakage(assigned);
      maps[key] = assigned.gen;
    }
    for (const [key, enc] of Object.entries(this.suite.global) as [string, ImageEncoder][]) {
      const { gen, refs } = await encoded(enc);
      metrics[`${key}_a`] = cosine(gen.pooled, refs[0].pooled);
      metrics[`${key}_b`] = cosine(gen.pooled, refs[1].pooled);
    }
    if (truth) Object.assign(metrics, pairSceneMetrics(scene, subjects[0], subjects[1], prompt, rgbaToHwc(generated)));
    // A subject that owns no patch (a small sprite, mostly covered) has no per-subject score: left out, not NaN.
    for (const [k, v] of Object.entries(metrics)) if (!Number.isFinite(v)) delete metrics[k];
    return { metrics, maps };
  }
}

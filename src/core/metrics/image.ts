/**
 * Every metric of one generated image against its reference (and, with a scene kit, against the
 * ground-truth scene). Keys, all "higher is better":
 * - `patch_quality`: mean patch quality `mean_{h,w} max_{i,j} cos(f(x_gen)[h,w], f(x_ref)[i,j])`
 *   under the pack's patch encoder (the training signal);
 * - `patch_quality_random`: the same under the random-weight evaluator, an encoder never used for
 *   training, so a gain there is not only the training signal agreeing with itself;
 * - `dino`, `clip_i`: cosine of the global embeddings of generated and reference (user evaluators);
 * - the scene metrics of ./scene.ts.
 */
import type { RgbaImage } from "../generate";
import type { ScenePrompt } from "../pack/manifest";
import { patchQualityCpu } from "../quality/cpu";
import { rgbaToHwc, type SceneRenderer } from "../scene/render";
import { cosine, type Encoded, encodeImage, type ImageEncoder } from "./encoders";
import { sceneMetrics } from "./scene";

export const PATCH_METRICS = ["patch_quality", "patch_quality_random"] as const;
export const GLOBAL_METRICS = ["dino", "clip_i"] as const;
export type PatchMetric = (typeof PATCH_METRICS)[number];
export type GlobalMetric = (typeof GLOBAL_METRICS)[number];

export interface MetricSuite {
  patch: Partial<Record<PatchMetric, ImageEncoder>>;
  global: Partial<Record<GlobalMetric, ImageEncoder>>;
  scene?: SceneRenderer;
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

/** Evaluates images one by one; each reference is encoded once per encoder. */
export class ImageEvaluator {
  private readonly refs = new Map<string, Promise<Encoded>>();

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

  private reference(key: string, enc: ImageEncoder, subject: string, image: RgbaImage): Promise<Encoded> {
    const id = `${key}|${subject}`;
    let found = this.refs.get(id);
    if (!found) {
      found = encodeImage(enc, image, `reference ${subject}`);
      this.refs.set(id, found);
    }
    return found;
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
    for (const [key, enc] of encoders) {
      const ref = await this.reference(key, enc, subject, reference);
      const gen = await encodeImage(enc, generated, "generated image");
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
}

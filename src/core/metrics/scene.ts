/**
 * Ground-truth metrics of a generated EmojiBench scene (foundry/foundry/evaluate.py
 * `scene_metrics`): subject-region PSNR against the true render (pixels where the subject's alpha
 * exceeds 0.5), whole-scene PSNR, and background / position / size accuracy by the nearest-render
 * classifier — the slot value whose render (other slots held at the prompt's) is closest in MSE —
 * the studio's analogue of CLIP-T (does the image follow the prompt).
 */
import type { PromptChoice } from "../generate/prompt";
import type { Manifest, PairPrompt, ScenePrompt } from "../pack/manifest";
import { SCENE_SLOTS, type SceneRenderer, type SceneSlot } from "../scene/render";

export const SCENE_METRICS = [
  "subject_region_psnr_db",
  "scene_psnr_db",
  "background_acc",
  "position_acc",
  "size_acc",
] as const;

const ACC_KEY: Record<SceneSlot, (typeof SCENE_METRICS)[number]> = {
  background: "background_acc",
  position: "position_acc",
  size: "size_acc",
};

export function mse(a: Float32Array, b: Float32Array, mask?: Float32Array): number {
  let sum = 0;
  let count = 0;
  for (let p = 0; p < a.length / 3; p++) {
    if (mask && !(mask[p] > 0.5)) continue;
    for (let c = 0; c < 3; c++) sum += (a[p * 3 + c] - b[p * 3 + c]) ** 2;
    count += 3;
  }
  return count ? sum / count : Number.NaN;
}

/** PSNR of images in [0,1], with the foundry's 1e-10 floor on the MSE. */
export const psnr = (meanSquared: number): number => 10 * Math.log10(1 / Math.max(meanSquared, 1e-10));

/** The slot value whose render is nearest to `sample`; ties go to the kit's first value, as in numpy's min. */
export function nearestValue(
  r: SceneRenderer,
  subject: string,
  prompt: ScenePrompt,
  sample: Float32Array,
  slot: SceneSlot,
): string {
  let best = "";
  let bestErr = Number.POSITIVE_INFINITY;
  for (const v of r.values(slot)) {
    const err = mse(r.render(subject, { ...prompt, [slot]: v }), sample);
    if (err < bestErr) {
      bestErr = err;
      best = v;
    }
  }
  return best;
}

/** `sample` is HWC float RGB in [0,1] (core/scene rgbaToHwc). */
export function sceneMetrics(
  r: SceneRenderer,
  subject: string,
  prompt: ScenePrompt,
  sample: Float32Array,
): Record<(typeof SCENE_METRICS)[number], number> {
  const truth = r.render(subject, prompt);
  const out = {
    subject_region_psnr_db: psnr(mse(truth, sample, r.subjectAlpha(subject, prompt))),
    scene_psnr_db: psnr(mse(truth, sample)),
    background_acc: 0,
    position_acc: 0,
    size_acc: 0,
  };
  for (const slot of SCENE_SLOTS)
    out[ACC_KEY[slot]] = nearestValue(r, subject, prompt, sample, slot) === prompt[slot] ? 1 : 0;
  return out;
}

export const PAIR_SCENE_METRICS = ["subject_region_psnr_db_a", "subject_region_psnr_db_b", "scene_psnr_db"] as const;

/**
 * Ground truth of a two-subject scene: each subject's region PSNR (pixels where its visible
 * coverage exceeds 0.5, so B's occlusion of A counts for B) and the whole scene's.
 */
export function pairSceneMetrics(
  r: SceneRenderer,
  a: string,
  b: string,
  prompt: PairPrompt,
  sample: Float32Array,
): Record<(typeof PAIR_SCENE_METRICS)[number], number> {
  const truth = r.renderPair(a, b, prompt);
  const [maskA, maskB] = r.pairMasks(a, b, prompt);
  return {
    subject_region_psnr_db_a: psnr(mse(truth, sample, maskA)),
    subject_region_psnr_db_b: psnr(mse(truth, sample, maskB)),
    scene_psnr_db: psnr(mse(truth, sample)),
  };
}

/** A scene kit's pair prompt as the studio's prompt choice: the layout in the layouts' slot. */
export function pairChoice(spec: Manifest["prompt"], p: PairPrompt): PromptChoice {
  return { background: p.background, [spec.layouts?.slot ?? "position"]: p.layout, size: p.size };
}

/** A two-subject prompt choice as a scene kit's pair prompt ("any" where the choice has no value). */
export function pairPromptOf(spec: Manifest["prompt"], choice: PromptChoice): PairPrompt {
  return {
    background: choice.background ?? "any",
    layout: choice[spec.layouts?.slot ?? "position"] ?? "any",
    size: choice.size ?? "any",
  };
}

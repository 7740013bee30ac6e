import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodePng } from "../../../node/png";
import { parseManifest } from "../pack/manifest";
import { parseSafetensors } from "../safetensors";
import { loadSceneAssets, SceneRenderer } from "./render";

const root = new URL("../../../", import.meta.url);

async function renderer(pack: string): Promise<SceneRenderer> {
  const dir = new URL(`public/models/${pack}/`, root);
  const kit = parseManifest(readFileSync(new URL("manifest.json", dir), "utf8")).scenes;
  if (!kit) throw new Error(`${pack} has no scene kit`);
  return new SceneRenderer(kit, await loadSceneAssets(kit, async (f) => decodePng(readFileSync(new URL(f, dir)), f)));
}

describe("SceneRenderer", () => {
  it("matches the foundry's ground truth for the first 32 held-out subjects' eval prompts within 1/255", async () => {
    const r = await renderer("emoji64");
    const b = readFileSync(new URL("tests/fixtures/estimator-emoji64.safetensors", root));
    const { tensors } = parseSafetensors(b, "fixture");
    const truth = tensors.get("ground_truth");
    const subject = tensors.get("subject")?.data as BigInt64Array;
    if (!truth) throw new Error("fixture has no ground_truth");
    const [n, size] = truth.shape;
    // The fixture holds evaluate.eval_prompts in order for subjects < 32: the kit's first n prompts.
    const prompts = r.kit.eval_prompts.slice(0, n);
    expect(prompts.map((p) => r.kit.subjects.indexOf(p.subject))).toEqual([...subject].map(Number));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const img = r.render(prompts[i].subject, prompts[i].prompt);
      const gt = (truth.data as Uint8Array).subarray(i * size * size * 3, (i + 1) * size * size * 3);
      for (let k = 0; k < gt.length; k++) worst = Math.max(worst, Math.abs(img[k] * 255 - gt[k]));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it("renders two-subject scenes and each subject's visible mask as the foundry does, within 1/255", async () => {
    const r = await renderer("emoji64");
    const b = readFileSync(new URL("tests/fixtures/scenes-pairs-emoji64.safetensors", root));
    const { tensors } = parseSafetensors(b, "fixture");
    const truth = tensors.get("ground_truth");
    const masks = tensors.get("masks");
    const subjects = tensors.get("subjects")?.data as BigInt64Array;
    if (!truth || !masks || !r.kit.pairs) throw new Error("fixture or kit without pairs");
    const [n, size] = truth.shape;
    const pairs = r.kit.pairs.eval.slice(0, n);
    expect(pairs.flatMap((p) => [p.a, p.b].map((id) => r.kit.subjects.indexOf(id)))).toEqual([...subjects].map(Number));
    let worstImage = 0;
    let worstMask = 0;
    const px = size * size;
    for (const [i, { a, b: bId, prompt }] of pairs.entries()) {
      const img = r.renderPair(a, bId, prompt);
      const gt = (truth.data as Uint8Array).subarray(i * px * 3, (i + 1) * px * 3);
      for (let k = 0; k < gt.length; k++) worstImage = Math.max(worstImage, Math.abs(img[k] * 255 - gt[k]));
      const both = r.pairMasks(a, bId, prompt);
      const want = (masks.data as Uint8Array).subarray(i * 2 * px, (i + 1) * 2 * px);
      for (let k = 0; k < 2 * px; k++)
        worstMask = Math.max(worstMask, Math.abs(both[k < px ? 0 : 1][k % px] * 255 - want[k]));
    }
    expect(worstImage).toBeLessThanOrEqual(1);
    expect(worstMask).toBeLessThanOrEqual(1);
    expect(() => r.renderPair(pairs[0].a, pairs[0].b, { ...pairs[0].prompt, layout: "A inside B" })).toThrow(
      /layout "A inside B" is not in the kit/,
    );
  });

  it("clips sprites at the border and covers the subject with its alpha", async () => {
    const r = await renderer("tiny");
    const subject = r.kit.subjects[0];
    const prompt = { background: "red", position: "top-left", size: "large" };
    const alpha = r.subjectAlpha(subject, prompt);
    const { px, rgba } = r.sprite(subject, "large");
    expect(px).toBe(36);
    // Position (20, 20), 36 px: top-left at (2, 2); sprite pixel (0,0) lands on image pixel (2,2).
    expect(alpha[2 * 64 + 2]).toBeCloseTo(rgba[3], 6);
    expect(alpha[0]).toBe(0);
    const img = r.render(subject, prompt);
    expect([img[0], img[1], img[2]].map((v) => Math.round(v * 255))).toEqual([220, 60, 60]);
    expect(() => r.render(subject, { ...prompt, background: "plaid" })).toThrow(/background "plaid" is not in the kit/);
    expect(() => r.render("nope", prompt)).toThrow(/no sprite for subject "nope"/);
  });
});

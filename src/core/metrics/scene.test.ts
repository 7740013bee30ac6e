import { describe, expect, it } from "vitest";
import type { SceneKit } from "../pack/manifest";
import { SceneRenderer } from "../scene/render";
import { mse, pairSceneMetrics, psnr, sceneMetrics } from "./scene";

/** A 4×4 kit: two flat backgrounds, two positions, one 2-px sprite size; one opaque white subject. */
function kit(pairs = false): SceneRenderer {
  const flat = (r: number, g: number, b: number) => ({
    width: 4,
    height: 4,
    data: new Uint8ClampedArray(Array.from({ length: 16 }, () => [r, g, b, 255]).flat()),
  });
  const k: SceneKit = {
    composite: "straight alpha",
    subjects: pairs ? ["s", "t"] : ["s"],
    backgrounds: { black: "bg-black.png", gray: "bg-gray.png" },
    positions: { tl: [1, 1], br: [3, 3] },
    sprites: { small: { file: "sprites.png", px: 2, columns: pairs ? 2 : 1 } },
    eval_prompts: [],
    pairs: { layouts: { "A tl, B br": ["tl", "br"], "A br, B tl": ["br", "tl"] }, eval: [] },
  };
  // s is opaque white; t (pairs only, right of s in the atlas) opaque red.
  const sprite = pairs
    ? {
        width: 4,
        height: 2,
        data: new Uint8ClampedArray(
          Array.from({ length: 8 }, (_, p) => (p % 4 < 2 ? [255, 255, 255, 255] : [255, 0, 0, 255])).flat(),
        ),
      }
    : { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(255) };
  return new SceneRenderer(k, {
    backgrounds: { black: flat(0, 0, 0), gray: flat(102, 102, 102) },
    atlases: { small: sprite },
  });
}

describe("scene metrics", () => {
  it("PSNR and masked MSE by hand", () => {
    expect(psnr(0.01)).toBeCloseTo(20, 12);
    expect(psnr(0)).toBe(100);
    const a = Float32Array.of(0, 0, 0, 1, 1, 1);
    const b = Float32Array.of(0.5, 0.5, 0.5, 1, 1, 1);
    expect(mse(a, b)).toBeCloseTo(0.125, 12);
    expect(mse(a, b, Float32Array.of(0, 1))).toBe(0);
  });

  it("scores a sample: region PSNR, scene PSNR and the nearest-render classifier per slot", () => {
    const r = kit();
    const prompt = { background: "black", position: "tl", size: "small" };
    // The subject (white 2×2 at pixels 0..1) drawn right, on a gray (0.4) background instead of black.
    const sample = r.render("s", { ...prompt, background: "gray" });
    const m = sceneMetrics(r, "s", prompt, sample);
    expect(m.subject_region_psnr_db).toBe(100);
    // 12 of 16 pixels off by 0.4: MSE 0.12 → 9.2082 dB
    expect(m.scene_psnr_db).toBeCloseTo(10 * Math.log10(1 / 0.12), 6);
    expect(m).toMatchObject({ background_acc: 0, position_acc: 1, size_acc: 1 });
  });

  it("scores a two-subject scene per subject: swapped subjects lose both regions", () => {
    const r = kit(true);
    const prompt = { background: "black", layout: "A tl, B br", size: "small" };
    expect(pairSceneMetrics(r, "s", "t", prompt, r.renderPair("s", "t", prompt))).toEqual({
      subject_region_psnr_db_a: 100,
      subject_region_psnr_db_b: 100,
      scene_psnr_db: 100,
    });
    const swapped = pairSceneMetrics(r, "s", "t", prompt, r.renderPair("t", "s", prompt));
    // Region A (4 pixels) holds red instead of white: per pixel (0, 1, 1) off, MSE 2/3.
    expect(swapped.subject_region_psnr_db_a).toBeCloseTo(10 * Math.log10(1.5), 6);
    expect(swapped.subject_region_psnr_db_b).toBeCloseTo(10 * Math.log10(1.5), 6);
    // A alone, B missing: A's region is right, B's shows the background.
    const bOnly = pairSceneMetrics(
      r,
      "s",
      "t",
      prompt,
      r.render("s", { background: "black", position: "tl", size: "small" }),
    );
    expect(bOnly.subject_region_psnr_db_a).toBe(100);
    expect(bOnly.subject_region_psnr_db_b).toBeLessThan(10);
  });
});

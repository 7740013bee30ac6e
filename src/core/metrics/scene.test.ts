import { describe, expect, it } from "vitest";
import type { SceneKit } from "../pack/manifest";
import { SceneRenderer } from "../scene/render";
import { mse, psnr, sceneMetrics } from "./scene";

/** A 4×4 kit: two flat backgrounds, two positions, one 2-px sprite size; one opaque white subject. */
function kit(): SceneRenderer {
  const flat = (r: number, g: number, b: number) => ({
    width: 4,
    height: 4,
    data: new Uint8ClampedArray(Array.from({ length: 16 }, () => [r, g, b, 255]).flat()),
  });
  const k: SceneKit = {
    composite: "straight alpha",
    subjects: ["s"],
    backgrounds: { black: "bg-black.png", gray: "bg-gray.png" },
    positions: { tl: [1, 1], br: [3, 3] },
    sprites: { small: { file: "sprites.png", px: 2, columns: 1 } },
    eval_prompts: [],
  };
  const sprite = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(255) };
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
});

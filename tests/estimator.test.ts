/**
 * The estimator check's pipeline (bench/estimator.ts) on synthetic data with the tiny pack's real
 * patch encoder: generated = reference with some 8×8 blocks replaced by noise, ground truth =
 * reference. Low patch quality must pick out the replaced blocks.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { blockQuality, ESTIMATOR_FIXTURE, type EstimatorData, estimatorCheck } from "../bench/estimator";
import { packEncoderSpec } from "../src/core/quality/encoder";
import { estimatorAuroc, patchErrors } from "../src/core/quality/estimator";
import { uint32Stream } from "../src/core/sampling/rng";
import { readManifest } from "./ort-node";

function syntheticPairs(n: number, size: number, seed: number): EstimatorData {
  const next = uint32Stream(seed);
  const rand = () => next() / 2 ** 32;
  const per = size * size * 3;
  const reference = new Uint8Array(n * per);
  // Smooth colour gradients with a disc, so neighbouring patches differ but are not noise.
  for (let i = 0; i < n; i++) {
    const [a, b, c, cx, cy] = [rand(), rand(), rand(), 16 + 32 * rand(), 16 + 32 * rand()];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < 144;
        const p = i * per + (y * size + x) * 3;
        reference[p] = inDisc ? 230 : 255 * a * (x / size);
        reference[p + 1] = inDisc ? 40 : 255 * b * (y / size);
        reference[p + 2] = inDisc ? 60 : 255 * c;
      }
    }
  }
  const generated = reference.slice();
  const side = size / 8;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 12; k++) {
      const bx = Math.floor(rand() * side);
      const by = Math.floor(rand() * side);
      for (let y = by * 8; y < by * 8 + 8; y++) {
        for (let x = bx * 8; x < bx * 8 + 8; x++) {
          for (let ch = 0; ch < 3; ch++) generated[i * per + (y * size + x) * 3 + ch] = Math.floor(rand() * 256);
        }
      }
    }
  }
  return { n, size, generated, truth: reference, reference };
}

describe("estimator check", () => {
  it("ranks noised blocks below clean ones with the tiny pack's encoder", async () => {
    const manifest = readManifest("tiny");
    const spec = packEncoderSpec(manifest);
    const data = syntheticPairs(6, 64, 5);
    const model = readFileSync(`public/models/tiny/${manifest.roles.patch_encoder?.file}`);
    const quality = await blockQuality(model, spec, data, manifest.image.background);
    const score = estimatorAuroc(quality, patchErrors(data.generated, data.truth, data.n, data.size, 8));
    expect(score.blocks).toBe(6 * 64);
    expect(score.badFraction).toBeGreaterThan(0.1);
    expect(score.auroc).toBeGreaterThan(0.9);
  });

  it.skipIf(!existsSync(ESTIMATOR_FIXTURE))(
    "reports AUROCs for the trained and the random emoji64 encoder",
    async () => {
      const r = await estimatorCheck();
      expect(r.auroc_trained_encoder).toBeGreaterThan(0.5);
      expect(r.auroc_random_encoder).toBeGreaterThanOrEqual(0);
    },
  );
});

/**
 * The estimator check's pipeline (bench/estimator.ts) on synthetic data with the tiny pack's real
 * patch encoder: generated = reference with some 8×8 blocks replaced by noise, ground truth =
 * reference. Low patch quality must pick out the replaced blocks.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  blockQuality,
  ESTIMATOR_FIXTURE,
  type EstimatorData,
  estimatorCheck,
  readEstimatorFixture,
} from "../bench/estimator";
import { readManifest } from "../node/packs";
import { packEncoderSpec } from "../src/core/quality/encoder-spec";
import { estimatorAuroc, patchErrors } from "../src/core/quality/estimator";
import { serializeSafetensors, type Tensor } from "../src/core/safetensors";
import { uint32Stream } from "../src/core/sampling/rng";

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

  it("reads the fixture's optional subject mask, checking its shape", () => {
    const images = (n: number): Tensor => ({ dtype: "U8", shape: [n, 16, 16, 3], data: new Uint8Array(n * 768) });
    const write = (mask?: Tensor) => {
      const t = new Map([
        ["generated", images(2)],
        ["ground_truth", images(2)],
        ["reference", images(2)],
      ]);
      if (mask) t.set("subject_mask", mask);
      const path = join(mkdtempSync(join(tmpdir(), "estimator-")), "fixture.safetensors");
      writeFileSync(path, new Uint8Array(serializeSafetensors(t)));
      return path;
    };
    expect(readEstimatorFixture(write()).subjectMask).toBeUndefined();
    const mask = Uint8Array.from({ length: 8 }, (_, k) => k % 2);
    expect(readEstimatorFixture(write({ dtype: "U8", shape: [2, 2, 2], data: mask })).subjectMask).toEqual(mask);
    expect(() => readEstimatorFixture(write({ dtype: "U8", shape: [2, 4], data: mask }))).toThrow(
      /subject_mask must be uint8 \[2, 2, 2\]/,
    );
  });

  it.skipIf(!existsSync(ESTIMATOR_FIXTURE))(
    "reports AUROCs for the trained and the random encoder and the independent evaluator of emoji64",
    async () => {
      const r = await estimatorCheck();
      expect(r.auroc_trained_encoder).toBeGreaterThan(0.5);
      expect(r.auroc_random_encoder).toBeGreaterThanOrEqual(0);
      expect(r.auroc_independent).toBeGreaterThanOrEqual(0);
      expect("auroc_independent_subject" in r).toBe(!!readEstimatorFixture().subjectMask);
    },
  );
});

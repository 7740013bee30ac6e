import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../../node/packs";
import type { PreferenceDataset } from "../dataset/types";
import { CpuTrainer } from "../engine";
import { weightedMse } from "../engine/objectives";
import { relError } from "../engine/testing/tiny";
import { gaussian } from "../sampling";
import { buildStep, type LossOptions, type Method, mergeSteps } from "./steps";
import { syntheticDataset } from "./testing/dataset";
import { DEFAULT_WEIGHTS } from "./weights";

const options = (method: Method, patch: Partial<LossOptions> = {}): LossOptions => ({
  method,
  beta: 500,
  weights: DEFAULT_WEIGHTS,
  useReference: true,
  pairing: "reference",
  ...patch,
});

describe("PatchDPO as in the official code", () => {
  // One channel, a 2×2 latent, a 1×2 patch grid: each patch covers one latent column.
  const ds: PreferenceDataset = {
    packId: "hand",
    grid: { height: 1, width: 2 },
    references: [{ id: "r", latent: Float32Array.of(1, 0, 0, 1), imageTokens: Float32Array.of(0.5), promptIds: [0] }],
    samples: [
      {
        ref: 0,
        prompt: {},
        promptIds: [3],
        seed: 0,
        latent: Float32Array.of(0, 1, 1, 0),
        mGen: Float32Array.of(0.5, 1.5), // clamps to 0.5, 1
        mRef: Float32Array.of(0.25, -0.5), // clamps to 0.25, 0
      },
    ],
  };
  const draw = { sample: 0, noise: Float32Array.of(1, -1, 0, 2), timestep: 0 };
  const alphas = Float64Array.of(0.64); // √ᾱ = 0.8, √(1−ᾱ) = 0.6
  const latent = { channels: 1, height: 2, width: 2 };

  it("noises both items with the shared ε and t and matches the hand-computed loss", () => {
    const { batch, objective } = buildStep(ds, draw, options("patchdpo"), latent, alphas);
    expect(objective).toEqual({ kind: "mse" });
    // z_t = 0.8·z0 + 0.6·ε, reference first.
    const zt = [0.8 + 0.6, -0.6, 0, 0.8 + 1.2, 0.6, 0.8 - 0.6, 0.8, 1.2];
    for (const [i, v] of batch.inputs.latent.entries()) expect(v).toBeCloseTo(zt[i], 6);
    expect(Array.from(batch.inputs.timestep)).toEqual([0, 0]);
    expect(Array.from(batch.inputs.promptIds)).toEqual([0, 3]);
    expect([...batch.inputs.imageTokens]).toEqual([0.5, 0.5]);
    // Predictions ε̂ chosen so the residuals are simple: r_ref = (1, 1, 1, 1), r_gen = (2, 0, 2, 0)... by column.
    const pred = Float32Array.of(2, 0, 1, 3, 3, -1, 2, 2);
    // Hand: mean over 4 elements of (1 − m_ref)·r_ref² + m_gen·r_gen²
    //   r_ref = (1, 1, 1, 1), weights (0.75, 1, 0.75, 1) → 3.5
    //   r_gen = (2, 0, 2, 0), weights (0.5, 1, 0.5, 1) → 4
    //   L = (3.5 + 4) / 4 = 1.875
    expect(weightedMse(pred, batch.target, batch.weight).loss).toBeCloseTo(1.875, 6);
  });

  it("without the reference term trains on the generated image alone, weighted by m_gen", () => {
    const { batch } = buildStep(ds, draw, options("patchdpo", { useReference: false }), latent, alphas);
    expect(batch.inputs.timestep.length).toBe(1);
    expect([...(batch.weight ?? [])]).toEqual([0.5, 1, 0.5, 1]);
  });

  it("threshold and temperature shape the weights; T = 0 is a hard step", () => {
    const hard = { ...DEFAULT_WEIGHTS, threshold: 0.75, temperature: 0 };
    const { batch } = buildStep(ds, draw, options("patchdpo", { useReference: false, weights: hard }), latent, alphas);
    expect([...(batch.weight ?? [])]).toEqual([0, 1, 0, 1]);
  });
});

describe("losses through the tiny denoiser (CPU engine)", { timeout: 300_000 }, () => {
  const { arch, weights } = packDenoiser("tiny");
  const ds = syntheticDataset(arch);
  const latent = { channels: arch.latentChannels, height: arch.latentSize, width: arch.latentSize };
  const alphas = Float64Array.from({ length: 1000 }, (_, t) => 1 - t / 1000);
  const draw = { sample: 0, other: 1, noise: gaussian(7, latent.channels * 256), timestep: 400 };
  // The four losses reduce to the engine's two objectives (weighted MSE, DPO over weighted
  // per-sample errors); PatchDPO covers the first, bounded PatchDPO (weighted DPO) the second.
  const variants: [string, LossOptions][] = [
    ["patchdpo", options("patchdpo")],
    ["patchdpo-bounded", options("patchdpo-bounded")],
  ];

  /** A trainer whose policy adapter differs from the frozen reference, so DPO terms are not all zero. */
  function trainer(): CpuTrainer {
    const t = new CpuTrainer(arch, weights);
    const moved = new Map(
      [...weights]
        .filter(([n]) => n.includes("_ip."))
        .map(([n, w], i) => [n, w.map((v, j) => v + 0.05 * Math.sin(i + j))]),
    );
    t.writeAdapter(moved);
    return t;
  }

  it.each(variants)(
    "%s: adapter gradient matches a central finite difference along a random direction",
    async (_, o) => {
      const { batch, objective } = buildStep(ds, draw, o, latent, alphas);
      const t = trainer();
      const { loss, adapter } = await t.lossAndGrads(batch, objective);
      expect(Number.isFinite(loss)).toBe(true);
      const base = await t.readAdapter();
      const dir = new Map([...base].map(([n, v], i) => [n, gaussian(50 + i, v.length)]));
      let analytic = 0;
      for (const [n, g] of adapter) for (const [j, v] of g.entries()) analytic += v * (dir.get(n) as Float32Array)[j];
      const at = async (h: number) => {
        t.writeAdapter(
          new Map([...base].map(([n, v]) => [n, v.map((x, j) => x + h * (dir.get(n) as Float32Array)[j])])),
        );
        return (await t.lossAndGrads(batch, objective)).loss;
      };
      const h = 1e-3;
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      expect(Math.abs(analytic)).toBeGreaterThan(1e-6);
      expect(Math.abs(fd - analytic), `fd ${fd} vs analytic ${analytic}`).toBeLessThan(2e-2 * Math.abs(analytic));
    },
  );

  it("bounded PatchDPO is 0 < L ≤ log 2 at the start and DPO-style losses equal log 2 when policy = reference", async () => {
    const t = new CpuTrainer(arch, weights);
    for (const m of ["patchdpo-bounded", "dpo"] as const) {
      const { batch, objective } = buildStep(ds, draw, options(m), latent, alphas);
      expect((await t.lossAndGrads(batch, objective)).loss).toBeCloseTo(Math.log(2), 6);
    }
  });

  it("DPO by quality puts the sample with the higher mean patch quality first", () => {
    const a = buildStep(ds, { ...draw, sample: 0, other: 1 }, options("dpo", { pairing: "quality" }), latent, alphas);
    const b = buildStep(ds, { ...draw, sample: 1, other: 0 }, options("dpo", { pairing: "quality" }), latent, alphas);
    expect(a.batch.inputs.latent).toEqual(b.batch.inputs.latent);
  });

  it.each([
    ["patchdpo (weighted MSE)", options("patchdpo")],
    ["patchdpo-bounded (weighted DPO)", options("patchdpo-bounded")],
    ["dpo by quality", options("dpo", { pairing: "quality" })],
  ])("%s over two draws: loss and gradient are the means of the single draws'", async (_, o) => {
    const second = { sample: 1, other: 0, noise: gaussian(8, latent.channels * 256), timestep: 900 };
    const steps = [buildStep(ds, draw, o, latent, alphas), buildStep(ds, second, o, latent, alphas)];
    const t = trainer();
    const merged = await t.lossAndGrads(mergeSteps(steps).batch, steps[0].objective);
    const single = await Promise.all(steps.map((s) => t.lossAndGrads(s.batch, s.objective)));
    expect(merged.loss).toBeCloseTo((single[0].loss + single[1].loss) / 2, 6);
    for (const [n, g] of merged.adapter) {
      const mean = g.map((_, j) => ((single[0].adapter.get(n)?.[j] ?? 0) + (single[1].adapter.get(n)?.[j] ?? 0)) / 2);
      expect(relError(g, mean), n).toBeLessThan(1e-5);
    }
    expect(mergeSteps(steps.slice(0, 1))).toBe(steps[0]);
  });
});

describe("two-subject samples", () => {
  // Two references (tokens 0.5 and 0.25, one value each), one pair sample whose layout puts B first.
  const ds: PreferenceDataset = {
    packId: "hand",
    grid: { height: 1, width: 2 },
    references: [
      { id: "a", latent: Float32Array.of(1, 0, 0, 1), imageTokens: Float32Array.of(0.5), promptIds: [0] },
      { id: "b", latent: Float32Array.of(0, 0, 1, 1), imageTokens: Float32Array.of(0.25), promptIds: [0] },
    ],
    samples: [
      {
        ref: 0,
        second: { ref: 1, mRef: Float32Array.of(1, 0.5), bFirst: true },
        prompt: {},
        promptIds: [3],
        seed: 0,
        latent: Float32Array.of(0, 1, 1, 0),
        mGen: Float32Array.of(0.5, 1),
        mRef: Float32Array.of(0.25, 0),
      },
    ],
  };
  const noise = Float32Array.of(1, -1, 0, 2);
  const draw = (part: "generated" | "references") => ({ sample: 0, noise, timestep: 0, part });
  const alphas = Float64Array.of(0.64);
  const latent = { channels: 1, height: 2, width: 2 };

  it("conditions the generated image on both references in the denoiser's order, its weight doubled", () => {
    const { batch, objective } = buildStep(ds, draw("generated"), options("patchdpo"), latent, alphas);
    expect(objective).toEqual({ kind: "mse" });
    expect([...batch.inputs.imageTokens]).toEqual([0.25, 0.5]);
    expect(Array.from(batch.inputs.promptIds)).toEqual([3]);
    expect([...(batch.weight ?? [])]).toEqual([1, 2, 1, 2]);
  });

  it("trains each reference on its own token with its own m_ref", () => {
    const { batch } = buildStep(ds, draw("references"), options("patchdpo"), latent, alphas);
    expect([...batch.inputs.imageTokens]).toEqual([0.5, 0.25]);
    expect(Array.from(batch.inputs.promptIds)).toEqual([0, 0]);
    // 2·(1 − w_ref) per column: A (0.25, 0) → (1.5, 2); B (1, 0.5) → (0, 1).
    expect([...(batch.weight ?? [])]).toEqual([1.5, 2, 1.5, 2, 0, 1, 0, 1]);
  });

  it("averages to mean[w_gen·r_gen²] + ½Σ_k mean[(1 − w_ref,k)·r_ref,k²] over its two parts", () => {
    const rGen = Float32Array.of(1, 2, -1, 0);
    const rA = Float32Array.of(2, 1, 0, 1);
    const rB = Float32Array.of(1, 1, 3, -2);
    const loss = (part: "generated" | "references", residuals: Float32Array[]) => {
      const { batch } = buildStep(ds, draw(part), options("patchdpo"), latent, alphas);
      const pred = batch.target.map((t, i) => t + residuals[Math.floor(i / 4)][i % 4]);
      return weightedMse(pred, batch.target, batch.weight).loss;
    };
    const mean = (r: Float32Array, w: number[]) => r.reduce((s, v, i) => s + w[i] * v * v, 0) / r.length;
    const want = mean(rGen, [0.5, 1, 0.5, 1]) + 0.5 * (mean(rA, [0.75, 1, 0.75, 1]) + mean(rB, [0, 0.5, 0, 0.5]));
    expect((loss("generated", [rGen]) + loss("references", [rA, rB])) / 2).toBeCloseTo(want, 6);
  });

  it("keeps the bounded form's winners before its losers and refuses DPO by reference", () => {
    const { batch, objective } = buildStep(ds, draw("references"), options("patchdpo-bounded"), latent, alphas);
    expect(objective.kind).toBe("dpo");
    expect([...batch.inputs.imageTokens]).toEqual([0.5, 0.25, 0.5, 0.25]);
    expect([...(batch.weight ?? [])].slice(8)).toEqual(Array(8).fill(0));
    expect(() => buildStep(ds, draw("generated"), options("dpo"), latent, alphas)).toThrow(/by quality/);
  });

  it("conditions each image of a DPO-by-quality pair on its own reference order", () => {
    // A second image of the same pair whose layout puts A first, and a better mean quality.
    const aFirst = { ...ds.samples[0], second: { ref: 1, mRef: Float32Array.of(1, 0.5), bFirst: false } };
    const two = { ...ds, samples: [ds.samples[0], { ...aFirst, mGen: Float32Array.of(1, 1) }] };
    const { batch } = buildStep(
      two,
      { ...draw("generated"), other: 1 },
      options("dpo", { pairing: "quality" }),
      latent,
      alphas,
    );
    expect([...batch.inputs.imageTokens]).toEqual([0.5, 0.25, 0.25, 0.5]); // winner (A first), then loser
  });
});

import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../../node/packs";
import { gaussian } from "../sampling/rng";
import { gatherBatch, ShardedTrainer, type ShardWorker, shardBatch, shardOn } from "./sharded";
import { engineFixture, relError } from "./testing/tiny";
import { CpuTrainer, type Objective, type TrainingBatch } from "./trainer";

/** The fixture's 2 items three times over, each copy with its own timesteps and noise: 6 items, 3 DPO pairs. */
function batchOf6(): TrainingBatch {
  const { inputs, weight } = engineFixture();
  const cat = (x: ArrayLike<number>) => Float32Array.from({ length: 3 * x.length }, (_, i) => x[i % x.length]);
  const timestep = Float32Array.from({ length: 6 }, (_, i) => (inputs.timestep[i % 2] + 97 * i) % 1000);
  return {
    inputs: {
      ...inputs,
      latent: cat(inputs.latent),
      imageTokens: cat(inputs.imageTokens),
      timestep,
      promptIds: Int32Array.from(cat(inputs.promptIds)),
    },
    target: gaussian(11, 3 * inputs.latent.length),
    weight: cat(weight),
  };
}

const { arch, weights } = packDenoiser("tiny");
const OBJECTIVES: [string, Objective][] = [
  ["weighted MSE", { kind: "mse" }],
  ["Diffusion-DPO", { kind: "dpo", beta: 500 }],
];

function sharded(threads: number): ShardedTrainer {
  const workers = Array.from({ length: threads - 1 }, () => shardOn(new CpuTrainer(arch, weights)));
  return new ShardedTrainer(new CpuTrainer(arch, weights), workers);
}

/** A reference adapter away from the policy's, so that the DPO terms do not cancel. */
async function nudgeReference(t: { writeAdapter: CpuTrainer["writeAdapter"]; readAdapter: CpuTrainer["readAdapter"] }) {
  const ref = await t.readAdapter(true);
  t.writeAdapter(new Map([...ref].map(([n, v]) => [n, v.map((x, i) => x * (1 + 0.2 * Math.sin(i)))])), true);
}

describe("shards", () => {
  it("split whole units: items for MSE, winner/loser pairs for DPO", () => {
    expect(shardBatch(6, { kind: "mse" }, 4)).toEqual([
      { items: [0, 1], share: 1 / 3 },
      { items: [2, 3], share: 1 / 3 },
      { items: [4, 5], share: 1 / 3 },
    ]);
    expect(shardBatch(6, { kind: "dpo", beta: 1 }, 2)).toEqual([
      { items: [0, 1, 3, 4], share: 2 / 3 },
      { items: [2, 5], share: 1 / 3 },
    ]);
    expect(shardBatch(2, { kind: "dpo", beta: 1 }, 8)).toEqual([{ items: [0, 1], share: 1 }]);
  });

  it("gather a sub-batch's rows of every input", () => {
    const b = batchOf6();
    const g = gatherBatch(b, [4, 1]);
    const d = b.target.length / 6;
    expect(g.target).toEqual(Float32Array.from([...b.target.subarray(4 * d, 5 * d), ...b.target.subarray(d, 2 * d)]));
    expect(Array.from(g.inputs.timestep)).toEqual([b.inputs.timestep[4], b.inputs.timestep[1]]);
    expect(g.inputs.promptIds.length).toBe((b.inputs.promptIds.length / 6) * 2);
  });
});

describe("ShardedTrainer equals the one-thread CPU trainer", () => {
  for (const [name, objective] of OBJECTIVES) {
    for (const threads of [2, 3]) {
      it(`${name}, ${threads} threads: loss, adapter and input gradients, then three AdamW steps`, async () => {
        const batch = batchOf6();
        const one = new CpuTrainer(arch, weights);
        const many = sharded(threads);
        await nudgeReference(one);
        await nudgeReference(many);
        const want = await one.lossAndGrads(batch, objective);
        const got = await many.lossAndGrads(batch, objective);
        expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThan(1e-6);
        for (const [n, g] of want.adapter) expect(relError(got.adapter.get(n) ?? [], g), n).toBeLessThan(1e-5);
        expect(relError(got.latent, want.latent)).toBeLessThan(1e-5);
        expect(relError(got.imageTokens, want.imageTokens)).toBeLessThan(1e-5);

        const options = { lr: 1e-2, weightDecay: 0.01, maxNorm: 1 };
        for (let s = 0; s < 3; s++) {
          one.trainStep(batch, options, objective);
          many.trainStep(batch, options, objective);
        }
        expect(
          Math.abs((await many.readLoss()) - (await one.readLoss())) / Math.abs(await one.readLoss()),
        ).toBeLessThan(1e-5);
        const after = await one.readAdapter();
        for (const [n, v] of await many.readAdapter()) expect(relError(v, after.get(n) ?? []), n).toBeLessThan(1e-5);
        expect((await many.readOptimizer()).step).toBe(3);
        many.destroy();
      });
    }
  }

  it("a worker's failure in a step fails the next call, and later calls work again", async () => {
    let fail = true;
    const flaky: ShardWorker = {
      ...shardOn(new CpuTrainer(arch, weights)),
      lossAndGrads: async () => {
        throw new Error("shard worker lost");
      },
    };
    const healthy = shardOn(new CpuTrainer(arch, weights));
    const worker: ShardWorker = {
      lossAndGrads: (...a) => (fail ? flaky : healthy).lossAndGrads(...a),
      writeReference: (t) => healthy.writeReference(t),
      destroy: () => healthy.destroy(),
    };
    const t = new ShardedTrainer(new CpuTrainer(arch, weights), [worker]);
    t.trainStep(batchOf6(), { lr: 1e-3 });
    await expect(t.readLoss()).rejects.toThrow("shard worker lost");
    fail = false;
    t.trainStep(batchOf6(), { lr: 1e-3 });
    expect(Number.isFinite(await t.readLoss())).toBe(true);
    expect((await t.readOptimizer()).step).toBe(1);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../../node/packs";
import { CpuTrainer } from "../engine";
import { relError } from "../engine/testing/tiny";
import type { Manifest } from "../pack/manifest";
import { exportAdapter, importAdapter } from "./adapter-file";
import { DEFAULT_TRAIN_CONFIG, NonFiniteError, StepSource, type TrainConfig, TrainingLoop } from "./loop";
import { syntheticDataset } from "./testing/dataset";

const { arch, weights } = packDenoiser("tiny");
const ds = syntheticDataset(arch);
const latent = { channels: arch.latentChannels, height: arch.latentSize, width: arch.latentSize };
const alphas = Float64Array.from({ length: 1000 }, (_, t) => 1 - (t + 1) / 1001);
const config = (patch: Partial<TrainConfig> = {}): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  lr: 1e-3,
  steps: 4,
  monitorEvery: 2,
  ...patch,
});
const loop = (c: TrainConfig) => new TrainingLoop(new CpuTrainer(arch, weights), new StepSource(ds, c, latent, alphas));

describe("TrainingLoop (CPU engine, tiny pack)", { timeout: 300_000 }, () => {
  it("resumes from a checkpoint exactly: adapter, AdamW moments and the step's draws", async () => {
    const a = loop(config());
    const [first] = await a.next();
    const cp = await a.checkpoint();
    const reports = await a.next();
    const b = loop(config());
    b.restore(cp);
    const resumed = await b.next();
    expect(resumed.map((r) => r.loss)).toEqual(reports.map((r) => r.loss));
    const [wa, wb] = [await a.checkpoint(), await b.checkpoint()];
    for (const [n, t] of wa.adapter) expect(relError(wb.adapter.get(n) as Float32Array, t), n).toBe(0);
    expect(resumed[0].step).toBe(2);
    expect(first.gradNorm).toBeGreaterThan(0); // step index 0 is a monitor step (every 2)
    expect(first.itemErrors).toHaveLength(2);
    expect(reports[0].gradNorm).toBeUndefined();
  });

  it("queues several steps per loss readback with the same losses, never past a checkpoint", async () => {
    const [one, four] = [loop(config({ steps: 6 })), loop(config({ steps: 6 }))];
    const single = [...(await one.next()), ...(await one.next()), ...(await one.next()), ...(await one.next())];
    const queued = await four.next(4);
    expect(queued.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(queued.map((r) => r.loss)).toEqual(single.map((r) => r.loss));
    expect(four.step).toBe(4);
    // 250 ms of work at 10 ms a step is 25 steps: capped at 16, then at the 6 steps' end and checkpoints.
    expect(loop(config({ steps: 40 })).stepsToReadback(10)).toBe(16);
    expect(four.stepsToReadback(10)).toBe(2);
    expect(loop(config({ steps: 40 })).stepsToReadback(10, 5)).toBe(5);
    expect(four.stepsToReadback(10, 5)).toBe(1);
    expect(four.stepsToReadback(1000)).toBe(1);
  });

  it("draws batchSize draws per step from one stream: draw 0 is the batch-size-1 draw", () => {
    const [one] = loop(config()).source.draws(5);
    const three = loop(config({ batchSize: 3 })).source.draws(5);
    expect(three).toHaveLength(3);
    expect(three[0]).toEqual(one);
    expect(three[1].noise).not.toEqual(one.noise);
    expect(() => loop(config({ batchSize: 0 }))).toThrow(/batchSize must be a whole number/);
  });

  it("reports DPO reward margins and stops with NonFiniteError once a huge learning rate breaks the adapter", async () => {
    const l = loop(
      config({ lr: 1e30, steps: 20, monitorEvery: 1, loss: { ...DEFAULT_TRAIN_CONFIG.loss, method: "dpo" } }),
    );
    const [first] = await l.next();
    expect(first.margin).toBeCloseTo(0, 6); // policy = reference before the first step
    let error: unknown;
    try {
      while (!l.done) {
        await l.next();
        await l.checkpoint();
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonFiniteError);
    expect((error as Error).message).toMatch(/NaN or infinite/);
  });

  it("exports and imports the adapter as safetensors under the manifest's names", async () => {
    const manifest = JSON.parse(readFileSync("public/models/tiny/manifest.json", "utf8")) as Manifest;
    const adapter = (await loop(config()).checkpoint()).adapter;
    const bytes = exportAdapter(manifest, adapter, { method: "patchdpo" });
    const back = importAdapter(manifest, bytes);
    expect(back.metadata).toMatchObject({ pack: "tiny", method: "patchdpo" });
    expect([...back.tensors.keys()]).toEqual([...adapter.keys()]);
    for (const [n, t] of adapter) expect(back.tensors.get(n)).toEqual(t);
    expect(() => importAdapter({ ...manifest, id: "other" }, bytes)).toThrow(/trained for pack "tiny"/);
  });
});

/**
 * `training`: a small headless run (scripts/train/headless.ts) on the built-in pack (emoji64 if
 * present, else tiny): a dataset from the training subjects, then PatchDPO and Diffusion-DPO
 * adapters trained from the same base for the same steps, and the change in mean patch quality
 * of fresh generations of the held-out subjects (same prompts and seeds) against the base adapter.
 * CPU engine in Node (the build machines have no GPU; SwiftShader WebGPU is slower than the CPU
 * here). The learning rate is above the official 3e-5 so a few steps move a small pack.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import {
  DEFAULT_HEADLESS,
  dataset,
  type HeadlessConfig,
  meanPatchQuality,
  openPack,
  train,
} from "../../scripts/train/headless";
import type { TrainConfig } from "../../src/core/training/loop";
import type { Scenario } from "../harness";

const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
const STEPS = 10;

export const training: Scenario = {
  description: "headless PatchDPO vs Diffusion-DPO training: ms per step and held-out patch-quality change",
  async run() {
    const pack = openPack(packId);
    const base: HeadlessConfig = {
      ...DEFAULT_HEADLESS,
      pack: packId,
      train: { steps: STEPS, lr: 1e-3, monitorEvery: 0, checkpointEvery: STEPS },
    };
    const heldout: HeadlessConfig = { ...base, subjects: "heldout", seeds: [101] };
    const ds = await dataset(pack, base);
    const before = await meanPatchQuality(pack, heldout, pack.base);
    const run = async (method: TrainConfig["loss"]["method"]) => {
      const loss = { ...(base.train.loss ?? {}), method } as TrainConfig["loss"];
      const r = await train(pack, ds, { ...base, train: { ...base.train, loss } });
      if (r.stopped) throw new Error(`${method}: ${r.stopped}`);
      const msPerStep = r.reports.reduce((s, x) => s + x.ms, 0) / r.reports.length;
      return { msPerStep, delta: (await meanPatchQuality(pack, heldout, r.adapter)) - before };
    };
    const patchdpo = await run("patchdpo");
    const dpo = await run("dpo");
    return {
      metrics: {
        ms_per_step: patchdpo.msPerStep,
        ms_per_step_dpo: dpo.msPerStep,
        delta_patch_quality_patchdpo: patchdpo.delta,
        delta_patch_quality_dpo: dpo.delta,
        base_patch_quality: before,
        pack: packId,
        steps: STEPS,
        lr: 1e-3,
        train_images: ds.samples.length,
      },
      env: { backend: "cpu", adapter: "none", cores: availableParallelism() },
    };
  },
};

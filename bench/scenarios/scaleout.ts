/**
 * `scaleout`: what the browser pays for training in a page, and what torchrun buys. The same
 * PatchDPO run configuration and dataset (synthetic, shaped for the built-in pack: emoji64 if
 * present, else tiny) on the studio's CPU engine (`npm run train`'s, in Node) and on the foundry's
 * PyTorch trainer (bench/torch-step.ts); then one PyTorch process against `torchrun
 * --nproc_per_node 2` (gloo) over the same global batch of 4 draws, one thread per process.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { openPack, train } from "../../scripts/train/headless";
import { decodeDatasetZip, packShapes } from "../../src/core/dataset/format";
import type { Scenario } from "../harness";
import { msPerStep, timingConfig, torchMsPerStep, writeTimingDataset } from "../torch-step";

const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
const STEPS = 12;

export const scaleout: Scenario = {
  description: "PatchDPO step: studio CPU engine vs PyTorch, and torchrun's 2-process speedup",
  async run() {
    const pack = openPack(packId);
    const dir = mkdtempSync(join(tmpdir(), "scaleout-"));
    try {
      const zip = writeTimingDataset(pack, dir);
      const config = (batchSize: number) => timingConfig(packId, STEPS, batchSize);
      const torch = (label: string, batchSize: number, threads: number, processes = 1) =>
        torchMsPerStep(pack, zip, dir, label, config(batchSize), threads, processes);
      const cores = availableParallelism();
      const ds = decodeDatasetZip(readFileSync(zip), packShapes(pack.manifest, { height: 8, width: 8 })).dataset;
      const engine = await train(pack, ds, config(1));
      const torchOne = await torch("torch", 1, cores);
      const ddpOne = await torch("ddp-1", 4, 1);
      const ddpTwo = await torch("ddp-2", 4, 1, 2);
      return {
        metrics: {
          ms_per_step_engine_cpu: msPerStep(engine.reports),
          ms_per_step_torch: torchOne,
          engine_over_torch: msPerStep(engine.reports) / torchOne,
          ms_per_step_torch_batch4_1proc: ddpOne,
          ms_per_step_torch_batch4_2proc: ddpTwo,
          ddp_speedup_2proc: ddpOne / ddpTwo,
          pack: packId,
          method: "patchdpo",
          items_per_draw: 2,
          steps: STEPS,
          torch_threads: cores,
        },
        env: { backend: "cpu", adapter: "none", cores },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

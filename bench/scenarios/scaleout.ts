/**
 * `scaleout`: what the browser pays for training in a page, and what torchrun buys. The same
 * PatchDPO run configuration and dataset (synthetic, shaped for the built-in pack: emoji64 if
 * present, else tiny) on the studio's CPU engine (`npm run train`'s, in Node) and on the foundry's
 * PyTorch trainer; then one PyTorch process against `torchrun --nproc_per_node 2` (gloo) over the
 * same global batch of 4 draws, one thread per process. Milliseconds per step are medians over
 * the steps after the first (which pays for allocation and warm-up).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack, train } from "../../scripts/train/headless";
import { decodeDatasetZip, packShapes } from "../../src/core/dataset/format";
import type { StepReport } from "../../src/core/training/loop";
import { syntheticDatasetZip } from "../../src/core/training/testing/dataset";
import type { Scenario } from "../harness";

const run = promisify(execFile);
const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
const STEPS = 12;
/** torchrun's flags that Debian's torch 1.13 on Python 3.11 cannot take at their default (see foundry/tests/test_adapter_ddp.py). */
const TORCHRUN = ["--redirects", "2", "--tee", "2"];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const msPerStep = (reports: Pick<StepReport, "ms">[]) => median(reports.slice(1).map((r) => r.ms));

export const scaleout: Scenario = {
  description: "PatchDPO step: studio CPU engine vs PyTorch, and torchrun's 2-process speedup",
  async run() {
    const pack = openPack(packId);
    const dir = mkdtempSync(join(tmpdir(), "scaleout-"));
    try {
      const zip = join(dir, "ds.zip");
      writeFileSync(zip, syntheticDatasetZip(pack.manifest, pack.arch, 4, 4));
      const config = (batchSize: number): HeadlessConfig => ({
        ...DEFAULT_HEADLESS,
        pack: packId,
        train: { steps: STEPS, batchSize, lr: 3e-5, monitorEvery: 0, checkpointEvery: STEPS },
      });
      /** The PyTorch trainer's ms per step: one process, or `processes` under torchrun. */
      const torch = async (label: string, c: HeadlessConfig, threads: number, processes = 1) => {
        const runJson = join(dir, `${label}.json`);
        const log = join(dir, `${label}.jsonl`);
        writeFileSync(runJson, JSON.stringify(c));
        const args = ["train-adapter", "--pack", resolve(pack.dir), "--dataset", zip, "--config", runJson];
        const rest = [...args, "--out", join(dir, `${label}.safetensors`), "--log", log, "--threads", String(threads)];
        const launch: [string, string[]] =
          processes === 1
            ? ["/usr/bin/python3", ["-m", "foundry", ...rest]]
            : ["torchrun", ["--nproc_per_node", String(processes), ...TORCHRUN, "-m", "foundry", ...rest]];
        await run(launch[0], launch[1], { cwd: "foundry", maxBuffer: 1 << 26 });
        return msPerStep(
          readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as StepReport),
        );
      };
      const cores = availableParallelism();
      const ds = decodeDatasetZip(readFileSync(zip), packShapes(pack.manifest, { height: 8, width: 8 })).dataset;
      const engine = await train(pack, ds, config(1));
      const torchOne = await torch("torch", config(1), cores);
      const ddpOne = await torch("ddp-1", config(4), 1);
      const ddpTwo = await torch("ddp-2", config(4), 1, 2);
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

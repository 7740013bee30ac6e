/**
 * The foundry's PyTorch trainer timed on a PatchDPO run (`python3 -m foundry train-adapter`, or
 * torchrun over several processes): the CPU anchor the studio's engines are compared with.
 * Milliseconds per step are medians over the steps after the first (which pays for allocation
 * and warm-up).
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_HEADLESS, type HeadlessConfig, type Pack } from "../scripts/train/headless";
import { median } from "../src/core/timing";
import type { StepReport } from "../src/core/training/loop";
import { syntheticDatasetZip } from "../src/core/training/testing/dataset";

const run = promisify(execFile);
/** torchrun's flags that Debian's torch 1.13 on Python 3.11 cannot take at their default (see foundry/tests/test_adapter_ddp.py). */
const TORCHRUN = ["--redirects", "2", "--tee", "2"];

export const msPerStep = (reports: Pick<StepReport, "ms">[]) => median(reports.slice(1).map((r) => r.ms));

/** Writes the synthetic dataset (4 references × 4 samples, shaped for `pack`) the timed runs train on; returns its path. */
export function writeTimingDataset(pack: Pack, dir: string): string {
  const zip = join(dir, "ds.zip");
  writeFileSync(zip, syntheticDatasetZip(pack.manifest, pack.arch, { samplesPerRef: 4, refs: 4 }));
  return zip;
}

/** A PatchDPO run of `steps` steps of `batchSize` draws on `pack`. */
export const timingConfig = (pack: string, steps: number, batchSize: number): HeadlessConfig => ({
  ...DEFAULT_HEADLESS,
  pack,
  train: { steps, batchSize, lr: 3e-5, monitorEvery: 0, checkpointEvery: steps },
});

/** The PyTorch trainer's ms per step on `config`: one process with `threads` threads, or `processes` under torchrun. */
export async function torchMsPerStep(
  pack: Pack,
  dataset: string,
  dir: string,
  label: string,
  config: HeadlessConfig,
  threads: number,
  processes = 1,
): Promise<number> {
  const runJson = join(dir, `${label}.json`);
  const log = join(dir, `${label}.jsonl`);
  writeFileSync(runJson, JSON.stringify(config));
  const args = ["train-adapter", "--pack", resolve(pack.dir), "--dataset", dataset, "--config", runJson];
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
}

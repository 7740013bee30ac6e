/**
 * `enhance`: patch-encoder enhancement on the CPU engine (src/core/enhance), in Node. Trains on
 * correspondence pairs made from the first half of a fixed set of held-out gallery subjects and
 * measures S_patch (correspondence top-1, and top-5) on a fixed set of pairs of the other half,
 * never trained on, before and after: from the untrained encoder (PyTorch-style random weights,
 * seed 0) and from the pack's trained one, with the studio's default steps and settings.
 * `npm run bench -- enhance [--steps N] [--pack tiny]`.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { loadSafetensors, packPath, readManifest } from "../../node/packs";
import { decodePng } from "../../node/png";
import { CpuVit, initVit, vitArch } from "../../src/core/engine/vit";
import { DEFAULT_ENHANCE } from "../../src/core/enhance/run";
import { CpuEncoderTrainer, type EnhanceOptions, sPatch } from "../../src/core/enhance/trainer";
import { pairSet, proceduralBackgrounds, spriteOf } from "../../src/core/enhance/views";
import { requireRole } from "../../src/core/pack/roles";
import { uniformStream } from "../../src/core/sampling/rng";
import { medianMs } from "../../src/core/timing";
import type { Scenario } from "../harness";

/** Held-out subjects used: the first half trains, the second half is only measured. */
const SUBJECTS = 32;
const EVAL_PAIRS = 128;
/** The studio's defaults (Train tab, Encoder), so the bench measures what a user starts with. */
const { batchPairs: BATCH, lr, weightDecay, maxNorm, temperature, steps: STEPS } = DEFAULT_ENHANCE;
const OPTIONS: EnhanceOptions = { lr, weightDecay, maxNorm, temperature };

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

export const enhance: Scenario = {
  description:
    "patch-encoder enhancement (CPU engine): S_patch on held-out subjects before/after, from random and trained starts",
  async run() {
    const packId = option("pack", existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny");
    const steps = Number(option("steps", String(STEPS)));
    const manifest = readManifest(packId);
    const arch = vitArch(manifest);
    const file = requireRole(manifest, "patch_encoder").weights?.file as string;
    const { tensors } = loadSafetensors(`${packPath(packId)}/${file}`);
    const trained = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
    const subjects = (manifest.gallery?.heldout ?? []).slice(0, SUBJECTS);
    if (subjects.length < 2) throw new Error(`pack ${packId} has fewer than 2 held-out gallery subjects`);
    const sprites = subjects.map((e) => spriteOf(decodePng(readFileSync(`${packPath(packId)}/${e.file}`), e.file)));
    const half = Math.floor(sprites.length / 2);
    const views = { size: arch.image, grid: arch.image / arch.patch };
    const backgrounds = proceduralBackgrounds(16, arch.image, uniformStream(5));
    const evalPairs = pairSet(sprites.slice(half), backgrounds, EVAL_PAIRS, 1, views);

    const run = async (start: Map<string, Float32Array>) => {
      const vit = new CpuVit(arch, start);
      const before = sPatch(vit, evalPairs);
      const trainer = new CpuEncoderTrainer(vit, "all");
      let step = 0;
      const ms = await medianMs(
        () => trainer.step(pairSet(sprites.slice(0, half), backgrounds, BATCH, 1000 + step++, views), OPTIONS),
        0,
        steps,
      );
      return { before, after: sPatch(vit, evalPairs), ms };
    };
    const random = await run(initVit(arch, 0));
    const fromTrained = await run(trained);
    const r3 = (x: number) => Number(x.toFixed(3));
    return {
      metrics: {
        s_patch_random_before: r3(random.before.top1),
        s_patch_random_after: r3(random.after.top1),
        s_patch_trained_before: r3(fromTrained.before.top1),
        s_patch_trained_after: r3(fromTrained.after.top1),
        s_patch_top5: {
          random_before: r3(random.before.top5),
          random_after: r3(random.after.top5),
          trained_before: r3(fromTrained.before.top5),
          trained_after: r3(fromTrained.after.top5),
        },
        ms_per_step: Math.round((random.ms + fromTrained.ms) / 2),
        steps,
        batch_pairs: BATCH,
        eval_patches: random.before.valid,
        train_subjects: half,
        eval_subjects: sprites.length - half,
        pack: packId,
      },
      // The CPU engine on one thread (the bench's own).
      env: { backend: "cpu", adapter: "none", cores: availableParallelism() },
    };
  },
};

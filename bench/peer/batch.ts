/**
 * The training batch the tfjs peer and our engines are compared and timed on: a synthetic
 * preference dataset shaped for the pack's denoiser, noised and weighted by core/training's
 * `buildStep`, several draws stacked by `mergeSteps`, exactly as the training loop assembles a step.
 */
import type { DenoiserArch } from "../../src/core/engine/arch";
import { alphasCumprod, gaussian, type SchedulerSpec } from "../../src/core/sampling";
import { DEFAULT_TRAIN_CONFIG } from "../../src/core/training/loop";
import { buildStep, type LossOptions, type LossStep, mergeSteps } from "../../src/core/training/steps";
import { syntheticDataset } from "../../src/core/training/testing/dataset";

/** `draws` deterministic (sample, noise, timestep) draws of `loss` (default: the studio's PatchDPO) merged into one step. */
export function peerStep(
  arch: DenoiserArch,
  scheduler: SchedulerSpec,
  draws: number,
  loss: LossOptions = DEFAULT_TRAIN_CONFIG.loss,
): LossStep {
  const ds = syntheticDataset(arch);
  const latent = { channels: arch.latentChannels, height: arch.latentSize, width: arch.latentSize };
  const ac = alphasCumprod(scheduler);
  const n = latent.channels * latent.height * latent.width;
  const steps = Array.from({ length: draws }, (_, k) =>
    buildStep(
      ds,
      { sample: k % ds.samples.length, noise: gaussian(50 + k, n), timestep: (137 + 331 * k) % ac.length },
      loss,
      latent,
      ac,
    ),
  );
  return mergeSteps(steps);
}

/**
 * The TensorFlow.js peer (bench/peer/tfjs-denoiser.ts, cpu backend) against the CPU engine on the
 * tiny pack: same weights, same batch from core/training, loss and every adapter gradient within
 * 1e-4 (relative to each tensor's largest magnitude), and one clipped AdamW step agreeing as
 * bench/peer/parity.ts `stepParity` checks it. A perturbed frozen weight must break the match, so
 * the check can fail.
 */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { peerStep } from "../bench/peer/batch";
import { stepParity } from "../bench/peer/parity";
import { TfjsDenoiser } from "../bench/peer/tfjs-denoiser";
import { packDenoiser, readManifest } from "../node/packs";
import { relError } from "../src/core/engine/testing/tiny";
import { CpuTrainer } from "../src/core/engine/trainer";
import { DEFAULT_TRAIN_CONFIG } from "../src/core/training/loop";

const TOL = 1e-4;
const { arch, weights } = packDenoiser("tiny");
const { scheduler } = readManifest("tiny");

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("tfjs peer vs the CPU engine (tiny pack)", () => {
  for (const method of ["patchdpo", "patchdpo-bounded"] as const) {
    it(`${method}: loss and adapter gradients`, async () => {
      const { batch, objective } = peerStep(arch, scheduler, 2, { ...DEFAULT_TRAIN_CONFIG.loss, method });
      const ours = await new CpuTrainer(arch, weights).lossAndGrads(batch, objective);
      const peer = new TfjsDenoiser(arch, weights);
      try {
        const theirs = await peer.lossAndGrads(batch, objective);
        expect(Math.abs(theirs.loss - ours.loss) / Math.abs(ours.loss)).toBeLessThan(TOL);
        expect([...theirs.adapter.keys()]).toEqual([...ours.adapter.keys()]);
        for (const [name, g] of ours.adapter) {
          expect(relError(theirs.adapter.get(name) as Float32Array, g), name).toBeLessThan(TOL);
        }
      } finally {
        peer.dispose();
      }
    });
  }

  it("one clipped AdamW step: moments as the CPU engine's, adapter as AdamW's formula", async () => {
    const { batch, objective } = peerStep(arch, scheduler, 2);
    const options = { lr: 1e-2, weightDecay: 0.01, maxNorm: 1 };
    const ours = new CpuTrainer(arch, weights);
    const before = await ours.readAdapter();
    ours.trainStep(batch, options, objective);
    const peer = new TfjsDenoiser(arch, weights);
    try {
      peer.trainStep(batch, options, objective);
      const live = tf.memory().numTensors;
      expect(Math.abs((await peer.readLoss()) - (await ours.readLoss()))).toBeLessThan(TOL * (await ours.readLoss()));
      const got = { before, after: await peer.readAdapter(), optimizer: await peer.readOptimizer() };
      expect(stepParity(got, await ours.readOptimizer(), options)).toBeLessThan(TOL);
      peer.trainStep(batch, options, objective);
      expect(tf.memory().numTensors, "a step leaks no tensors").toBe(live);
    } finally {
      peer.dispose();
    }
  });

  it("fails when a frozen weight differs", async () => {
    const { batch, objective } = peerStep(arch, scheduler, 2);
    const ours = await new CpuTrainer(arch, weights).lossAndGrads(batch, objective);
    const perturbed = new Map(weights);
    const name = "out.weight";
    perturbed.set(
      name,
      (weights.get(name) as Float32Array).map((v) => v * 1.01),
    );
    const peer = new TfjsDenoiser(arch, perturbed);
    try {
      const theirs = await peer.lossAndGrads(batch, objective);
      expect(Math.abs(theirs.loss - ours.loss) / Math.abs(ours.loss)).toBeGreaterThan(TOL);
      const worst = Math.max(...[...ours.adapter].map(([n, g]) => relError(theirs.adapter.get(n) as Float32Array, g)));
      expect(worst).toBeGreaterThan(TOL);
    } finally {
      peer.dispose();
    }
  });
});

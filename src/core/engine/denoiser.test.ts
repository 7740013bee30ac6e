import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../../node/packs";
import { gaussian } from "../sampling/rng";
import { initLora, LORA_TARGETS } from "./arch";
import { CpuDenoiser } from "./denoiser";
import { weightedMse } from "./objectives";
import { engineFixture, relError } from "./testing/tiny";
import { CpuTrainer } from "./trainer";

/**
 * The CPU denoiser against PyTorch (foundry fixture engine-tiny, float32). Tolerances are
 * relative to the largest magnitude of each tensor: ε 1e-6, loss 1e-6, gradients 2e-6 (measured: 2e-7, 3e-8, ≤ 4e-7).
 */
describe("CPU denoiser vs the foundry's golden fixture (tiny pack)", () => {
  const { arch, weights } = packDenoiser("tiny");
  const fx = engineFixture();
  const den = new CpuDenoiser(arch, weights);
  const { eps, tape } = den.forward(fx.inputs);
  const { loss, grad } = weightedMse(eps, fx.target, fx.weight);
  const grads = den.backward(tape, grad);

  it("forward ε", () => {
    expect(relError(eps, fx.eps)).toBeLessThan(1e-6);
  });

  it("weighted-MSE loss", () => {
    expect(Math.abs(loss - fx.loss) / fx.loss).toBeLessThan(1e-6);
  });

  it("adapter gradients", () => {
    expect([...grads.adapter.keys()]).toEqual([...fx.grads.keys()].filter((k) => k.startsWith("blocks.")));
    for (const [name, g] of grads.adapter)
      expect(relError(g, fx.grads.get(name) as Float32Array), name).toBeLessThan(2e-6);
  });

  it("input gradients", () => {
    expect(relError(grads.latent, fx.grads.get("input.latent") as Float32Array)).toBeLessThan(2e-6);
    expect(relError(grads.imageTokens, fx.grads.get("input.image_tokens") as Float32Array)).toBeLessThan(2e-6);
  });
});

describe("CPU denoiser on two references vs the golden fixture (engine-tiny-pair)", () => {
  const { arch, weights } = packDenoiser("tiny");
  const fx = engineFixture("engine-tiny-pair");
  const den = new CpuDenoiser(arch, weights);
  const { eps, tape } = den.forward(fx.inputs);
  const { loss, grad } = weightedMse(eps, fx.target, fx.weight);
  const grads = den.backward(tape, grad);

  it("forward ε, loss and every gradient over two references' tokens with ref_embed", () => {
    expect(tape.image.keys).toBe(2 * arch.imageTokens);
    expect(relError(eps, fx.eps)).toBeLessThan(1e-6);
    expect(Math.abs(loss - fx.loss) / fx.loss).toBeLessThan(1e-6);
    for (const [name, g] of grads.adapter)
      expect(relError(g, fx.grads.get(name) as Float32Array), name).toBeLessThan(2e-6);
    expect(relError(grads.latent, fx.grads.get("input.latent") as Float32Array)).toBeLessThan(2e-6);
    expect(relError(grads.imageTokens, fx.grads.get("input.image_tokens") as Float32Array)).toBeLessThan(2e-6);
  });

  it("tells the references apart: swapping them changes ε; one reference still runs", () => {
    const { imageTokens } = fx.inputs;
    const half = imageTokens.length / 4; // per item, per reference
    const swapped = imageTokens.slice();
    for (let b = 0; b < 2; b++) {
      swapped.set(imageTokens.subarray((2 * b + 1) * half, (2 * b + 2) * half), 2 * b * half);
      swapped.set(imageTokens.subarray(2 * b * half, (2 * b + 1) * half), (2 * b + 1) * half);
    }
    // Attention is blind to the keys' order: only ref_embed tells the references apart.
    expect(relError(den.forward({ ...fx.inputs, imageTokens: swapped }).eps, fx.eps)).toBeGreaterThan(1e-5);
    const blind = new CpuDenoiser(arch, new Map([...weights, ["ref_embed", new Float32Array(2 * arch.imageDim)]]));
    const { eps: blindEps } = blind.forward(fx.inputs);
    expect(relError(blind.forward({ ...fx.inputs, imageTokens: swapped }).eps, blindEps)).toBeLessThan(1e-6);
    const one = Float32Array.from(
      { length: 2 * half },
      (_, i) => imageTokens[Math.floor(i / half) * 2 * half + (i % half)],
    );
    expect(den.forward({ ...fx.inputs, imageTokens: one }).tape.image.keys).toBe(arch.imageTokens);
    expect(() => den.forward({ ...fx.inputs, imageTokens: imageTokens.subarray(1) })).toThrow(/1 to 2 references/);
  });

  it("a single-reference denoiser refuses two references' tokens", () => {
    const single = { ...arch, maxReferences: 1 };
    expect(() => new CpuDenoiser(single, weights).forward(fx.inputs)).toThrow(/is not 1 reference of 64×16/);
  });
});

describe("CPU trainer smoke test", () => {
  it("50 AdamW steps on a fixed batch lower the loss and change only the adapter tensors", async () => {
    const { arch, weights } = packDenoiser("tiny");
    const frozen = new Map([...weights].map(([k, v]) => [k, v.slice()]));
    const fx = engineFixture();
    const trainer = new CpuTrainer(arch, weights);
    const batch = { inputs: fx.inputs, target: fx.target, weight: fx.weight };
    const losses: number[] = [];
    for (let step = 0; step < 50; step++) {
      trainer.trainStep(batch, { lr: 1e-2, maxNorm: 1 });
      losses.push(await trainer.readLoss());
    }
    expect(losses[0]).toBeCloseTo(fx.loss, 6);
    expect(losses[49]).toBeLessThan(0.95 * losses[0]); // the adapter alone moves this loss about 10 %
    for (const [k, v] of weights) expect(v, k).toEqual(frozen.get(k));
    const base = await trainer.readAdapter(true);
    for (const [k, v] of await trainer.readAdapter()) {
      expect(v, k).not.toEqual(base.get(k));
      expect(base.get(k), k).toEqual(weights.get(k));
    }
    expect(relError(await trainer.forward(fx.inputs, true), fx.eps)).toBeLessThan(1e-6);
  }, 60_000);
});

describe("CPU LoRA adapters", () => {
  const { arch, weights } = packDenoiser("tiny");
  const fx = engineFixture();
  const config = { rank: 2, alpha: 4, targets: LORA_TARGETS };

  it("start as the identity (B = 0) and are trainable tensors of the right shapes", () => {
    const tensors = initLora(arch, config, gaussian, 7);
    expect(tensors.get("blocks.1.qkv.lora_A")?.length).toBe(2 * 32);
    expect(tensors.get("blocks.0.fc2.lora_B")?.length).toBe(32 * 2);
    const den = new CpuDenoiser(arch, weights, { config, tensors });
    expect(relError(den.forward(fx.inputs).eps, fx.eps)).toBeLessThan(1e-6);
    expect(den.adapter.size).toBe(4 + 2 * 2 * LORA_TARGETS.length);
    expect(() => initLora(arch, { ...config, rank: 0 }, gaussian)).toThrow(RangeError);
  });

  it("LoRA gradients agree with central differences of the loss", () => {
    const tensors = initLora(arch, config, gaussian, 7);
    for (const [n, t] of tensors) if (n.endsWith("lora_B")) t.set(gaussian(n.length, t.length).map((v) => 0.3 * v));
    const den = new CpuDenoiser(arch, weights, { config, tensors });
    const loss = () => weightedMse(den.forward(fx.inputs).eps, fx.target, fx.weight).loss;
    const { eps, tape } = den.forward(fx.inputs);
    const grads = den.backward(tape, weightedMse(eps, fx.target, fx.weight).grad).adapter;
    for (const name of [
      "blocks.0.qkv.lora_A",
      "blocks.1.fc1.lora_B",
      "blocks.0.attn_ip.to_q.lora_A",
      "blocks.1.attn_ip.to_out.lora_B",
    ]) {
      const p = den.adapter.get(name) as Float32Array;
      const g = grads.get(name) as Float32Array;
      // The three largest-gradient entries: central differences in float32 (h = 1e-2), 2 % agreement.
      const top = [...g.keys()].sort((i, j) => Math.abs(g[j]) - Math.abs(g[i])).slice(0, 3);
      for (const i of top) {
        const v = p[i];
        p[i] = v + 1e-2;
        const up = loss();
        p[i] = v - 1e-2;
        const down = loss();
        p[i] = v;
        const fd = (up - down) / 2e-2;
        expect(Math.abs(fd - g[i]), `${name}[${i}]: ${g[i]} vs ${fd}`).toBeLessThan(0.02 * Math.abs(g[i]));
      }
    }
  }, 60_000);
});

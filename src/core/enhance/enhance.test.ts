import { describe, expect, it } from "vitest";
import { loadSafetensors, packPath, readManifest } from "../../../node/packs";
import { expectGradient } from "../engine/testing/fd";
import { CpuVit, vitArch } from "../engine/vit";
import { requireRole } from "../pack/roles";
import { uniformStream } from "../sampling/rng";
import { infoNce } from "./infonce";
import { CpuEncoderTrainer, sPatch, trainedParameters } from "./trainer";
import { correspondences, proceduralBackgrounds, type Sprite, spriteOf, viewPair } from "./views";

/** A 32×32 sprite: an opaque disc with four coloured quadrants, transparent outside. */
function quadrantSprite(): Sprite {
  const side = 32;
  const rgb = new Float32Array(side * side * 3);
  const alpha = new Float32Array(side * side);
  const colours = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 0],
  ];
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const p = y * side + x;
      const q = (y < side / 2 ? 0 : 2) + (x < side / 2 ? 0 : 1);
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = colours[q][c] * (0.5 + (0.5 * x) / side);
      alpha[p] = (x - 15.5) ** 2 + (y - 15.5) ** 2 < 15 ** 2 ? 1 : 0;
    }
  return { side, rgb, alpha };
}

const VIEWS = { size: 64, grid: 8 };

/** Every B patch maps to `want(i)` or is off the subject (−1). */
function expectMapped(target: Int32Array, want: (i: number) => number): void {
  const wrong = [...target].flatMap((v, i) => (v === -1 || v === want(i) ? [] : [`patch ${i} → ${v}`]));
  expect(wrong).toEqual([]);
}

describe("correspondence views", () => {
  const sprite = quadrantSprite();

  it("the same placement twice maps each subject patch to itself", () => {
    const p = { cx: 32, cy: 32, size: 48, angle: 0 };
    const t = correspondences(sprite, p, p, VIEWS);
    const valid = [...t].filter((v) => v >= 0);
    expect(valid.length).toBeGreaterThan(20);
    expectMapped(t, (i) => i);
  });

  it("B moved one patch right maps to the A patch one to the left; a half turn maps across the centre", () => {
    const a = { cx: 32, cy: 32, size: 48, angle: 0 };
    const t = correspondences(sprite, a, { ...a, cx: 40 }, VIEWS);
    expectMapped(t, (i) => i - 1);
    const turned = correspondences(sprite, a, { ...a, angle: Math.PI }, VIEWS);
    expectMapped(turned, (i) => 63 - i);
    expect([...turned].filter((v) => v >= 0).length).toBeGreaterThan(20);
  });

  it("pairs are deterministic per seed, in [−1, 1], with subject patches to learn from", () => {
    const bgs = proceduralBackgrounds(4, 64, uniformStream(1));
    const p1 = viewPair(sprite, bgs, uniformStream(7), VIEWS);
    const p2 = viewPair(sprite, bgs, uniformStream(7), VIEWS);
    expect(p1.a).toEqual(p2.a);
    expect(p1.target).toEqual(p2.target);
    expect(p1.a.length).toBe(3 * 64 * 64);
    for (const v of [...p1.a, ...p1.b]) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    expect([...p1.target].filter((v) => v >= 0).length).toBeGreaterThan(4);
  });

  it("an opaque image's subject is what differs from its border colour", () => {
    const side = 16;
    const data = new Uint8ClampedArray(side * side * 4).fill(255);
    for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) data.set([200, 20, 20, 255], (y * side + x) * 4);
    const s = spriteOf({ width: side, height: side, data });
    expect(s.alpha[8 * side + 8]).toBe(1);
    expect(s.alpha[0]).toBe(0);
    expect(s.alpha[2 * side + 8]).toBe(0);
  });
});

describe("patch InfoNCE", () => {
  const T = 4;
  const dim = 3;
  const rand = uniformStream(3);
  const a = Float32Array.from({ length: 2 * T * dim }, () => rand() * 2 - 1);
  const b = Float32Array.from({ length: 2 * T * dim }, () => rand() * 2 - 1);
  const target = Int32Array.from([2, -1, 0, 3, 1, 1, -1, 0]);

  it("identical views with identity targets are matched perfectly", () => {
    const r = infoNce({ a, b: a, target: Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), tokens: T, dim }, 0.1);
    expect(r.top1).toBe(1);
    expect(r.valid).toBe(8);
  });

  it("gradients agree with central differences, and −1 patches do not count", () => {
    const r = infoNce({ a, b, target, tokens: T, dim }, 0.5);
    expect(r.valid).toBe(6);
    for (const [x, g] of [
      [a, r.dA],
      [b, r.dB],
    ] as const) {
      expectGradient(() => infoNce({ a, b, target, tokens: T, dim }, 0.5).loss, x, g, { h: 1e-3, tol: 2e-4 });
    }
    // B's patch 1 of pair 0 has no target: nothing flows to it.
    for (let d = 0; d < dim; d++) expect(r.dB[1 * dim + d]).toBe(0);
  });
});

describe("encoder enhancement on the CPU engine (tiny pack)", () => {
  const manifest = readManifest("tiny");
  const file = requireRole(manifest, "patch_encoder").weights?.file as string;
  const { tensors } = loadSafetensors(`${packPath("tiny")}/${file}`);
  const weights = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const arch = vitArch(manifest);
  const sprite = quadrantSprite();
  const bgs = proceduralBackgrounds(6, 64, uniformStream(2));
  const rand = uniformStream(11);
  const batch = Array.from({ length: 4 }, () => viewPair(sprite, bgs, rand, VIEWS));
  const options = { lr: 3e-3, temperature: 0.1, maxNorm: 1 };

  it("training lowers the InfoNCE loss of a fixed batch and raises its S_patch", async () => {
    const vit = new CpuVit(arch, weights);
    const trainer = new CpuEncoderTrainer(vit, "all");
    const before = sPatch(vit, batch);
    for (let s = 0; s < 40; s++) await trainer.step(batch, options);
    const after = sPatch(vit, batch);
    expect(after.loss).toBeLessThan(0.8 * before.loss);
    expect(after.top1).toBeGreaterThan(before.top1);
  });

  it('"last" trains only the last block, the final norm and the head', async () => {
    expect(trainedParameters(arch, weights.keys(), "last")).toEqual(
      [...weights.keys()].filter((n) => /^(layers\.0\.|norm\.|head\.)/.test(n)),
    );
    const vit = new CpuVit(arch, weights);
    const trainer = new CpuEncoderTrainer(vit, "last");
    await trainer.step(batch, options);
    expect(vit.params.get("patch_embed.weight")).toEqual(weights.get("patch_embed.weight"));
    expect(vit.params.get("head.weight")).not.toEqual(weights.get("head.weight"));
  });

  it("a checkpoint's state continues the run exactly", async () => {
    const straight = new CpuEncoderTrainer(new CpuVit(arch, weights), "last");
    for (let s = 0; s < 3; s++) await straight.step(batch, options);
    const first = new CpuEncoderTrainer(new CpuVit(arch, weights), "last");
    await first.step(batch, options);
    const resumed = new CpuEncoderTrainer(new CpuVit(arch, weights), "last");
    resumed.importState(await first.exportState());
    for (let s = 0; s < 2; s++) await resumed.step(batch, options);
    expect(await resumed.weights()).toEqual(await straight.weights());
  });
});

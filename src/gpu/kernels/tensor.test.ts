import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ops from "../../core/engine/ops.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type TensorKernels, tensorKernels } from "./tensor.ts";

/** Layout ops in WebGPU vs the CPU backend: permutations and gathers exactly, adds to 1e-6. */
describe.skipIf(skipWebGpu)("tensor kernels", () => {
  let ctx: GpuContext, k: TensorKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(tensorKernels)));
  afterAll(() => closeKernels(t, ctx));

  it("patchify and unpatchify", async () => {
    const s = { batch: 2, channels: 3, size: 4, patch: 2 };
    const n = 2 * 3 * 16;
    const latent = gaussian(1, n);
    const [bl, bt, bback] = [t.up(latent), t.zeros(n), t.zeros(n)];
    ctx.submit("patch", (b) => {
      k.patchify(b, s, bl, bt);
      k.unpatchify(b, s, bt, bback);
    });
    const [tokens, back] = await t.read([bt, n], [bback, n]);
    expect(tokens).toEqual(ops.patchify(latent, s));
    expect(back).toEqual(latent);
  });

  it("broadcast add with alpha and accumulation", async () => {
    const y0 = gaussian(2, 10);
    const a = gaussian(3, 5);
    const [ba, by] = [t.up(a), t.up(y0)];
    ctx.submit("add", (b) => k.addBroadcast(b, 10, ba, 5, by, { alpha: 0.5, accumulate: true }));
    const [y] = await t.read([by, 10]);
    expectNear(
      y,
      y0.map((v, i) => v + 0.5 * a[i % 5]),
      1e-6,
    );
  });

  it("embedding gather and its scatter-add backward", async () => {
    const [vocab, c] = [4, 3];
    const table = gaussian(4, vocab * c);
    const ids = [3, 0, 3, 1];
    const dy = gaussian(5, ids.length * c);
    const [bids, btab, by, bdy, bdt] = [
      t.up(Uint32Array.from(ids)),
      t.up(table),
      t.zeros(ids.length * c),
      t.up(dy),
      t.zeros(vocab * c),
    ];
    ctx.submit("gather", (b) => {
      k.gather(b, ids.length, vocab, c, bids, btab, by);
      k.gatherBack(b, ids.length, vocab, c, bids, bdy, bdt);
    });
    const [y, dt] = await t.read([by, ids.length * c], [bdt, vocab * c]);
    expect(y).toEqual(ops.embed(ids, table, c));
    const want = new Float32Array(vocab * c);
    ops.embedBackward(dy, ids, c, want);
    expectNear(dt, want, 1e-6);
  });
});

import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matmul } from "../core/engine/ops.ts";
import { gaussian } from "../core/sampling/rng.ts";
import type { GpuContext } from "./context.ts";
import { benchEngine, matmulOnnx } from "./engine.bench.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** The engine bench hook runs end to end in Node (ORT's WASM EP, tiny sizes); its ONNX MatMul is right. */
describe("engine bench hook", () => {
  it("the hand-encoded ONNX MatMul computes A·B", async () => {
    const a = gaussian(1, 3 * 4);
    const b = gaussian(2, 4 * 5);
    const s = await ort.InferenceSession.create(matmulOnnx(3, 4, 5), { executionProviders: ["wasm"] });
    const out = await s.run({ A: new ort.Tensor("float32", a, [3, 4]), B: new ort.Tensor("float32", b, [4, 5]) });
    const want = matmul(a, b, { batch: 1, m: 3, n: 5, k: 4 });
    expect(out.C.dims).toEqual([3, 5]);
    (out.C.data as Float32Array).forEach((v, i) => {
      expect(v).toBeCloseTo(want[i], 5);
    });
  });

  describe.skipIf(skipWebGpu)("in WebGPU", () => {
    let ctx: GpuContext;
    beforeAll(async () => {
      ctx = await createNodeContext();
    });
    afterAll(() => ctx?.destroy());

    it("reports the DESIGN §7 metric keys", async () => {
      const r = await benchEngine(ctx, ort, {
        readPackFile: async (name) => new Uint8Array(readFileSync(`public/models/tiny/${name}`)),
        executionProvider: "wasm",
        sizes: [16],
        batch: 2,
        warmup: 0,
        runs: 1,
      });
      for (const key of ["matmul_ratio_vs_ort", "train_step_over_forward", "steps_per_second"] as const) {
        expect(r[key]).toBeGreaterThan(0);
      }
      expect(r.pack).toBe("tiny");
    }, 60_000);
  });
});

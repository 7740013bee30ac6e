import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type ActivationKernels, activationKernels } from "./activation.ts";
import { declareKernels } from "./dispatch.ts";

const CODE = /* wgsl */ `
struct Params { n: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3u) {}`;

describe("kernel declarations", () => {
  const declare = (params: Record<string, "u32" | "f32">, entries: Record<string, string[]>) => () =>
    declareKernels({ name: "probe", code: CODE, params, entries });

  it("resolves binding numbers by WGSL name", () => {
    expect(declare({ n: "u32", scale: "f32" }, { main: ["x"] })().slots).toEqual(
      new Map([
        ["p", 0],
        ["x", 1],
      ]),
    );
  });

  it("rejects uniform fields that differ from struct Params", () => {
    expect(declare({ scale: "f32", n: "u32" }, { main: ["x"] })).toThrow(
      "probe.wgsl: struct Params is { n: u32, scale: f32 }, declared { scale: f32, n: u32 }",
    );
    expect(declare({ n: "u32", scale: "u32" }, { main: ["x"] })).toThrow(/struct Params/);
  });

  it("rejects unknown bindings and entry points", () => {
    expect(declare({ n: "u32", scale: "f32" }, { main: ["y"] })).toThrow("probe.wgsl: main: no storage binding y");
    expect(declare({ n: "u32", scale: "f32" }, { main: ["p"] })).toThrow("probe.wgsl: main: no storage binding p");
    expect(declare({ n: "u32", scale: "f32" }, { other: ["x"] })).toThrow("probe.wgsl: no entry point other");
  });
});

describe.skipIf(skipWebGpu)("operand sizes (WebGPU)", () => {
  let ctx: GpuContext, k: ActivationKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(activationKernels)));
  afterAll(() => closeKernels(t, ctx));

  it("refuses a short operand although its pooled buffer is large enough", () => {
    const n = 70;
    const [x, y] = [t.zeros(n), t.zeros(n - 1)];
    expect(y.size).toBeGreaterThanOrEqual(4 * n); // the pool's size class hides the missing value
    const inUse = ctx.pool.inUseCount;
    expect(() => ctx.submit("short", (b) => k.forward(b, "gelu", n, x, y))).toThrow(
      new RangeError('activation.forward: binding "y" has 276 bytes but the kernel accesses 280 (70 values)'),
    );
    expect(ctx.pool.inUseCount).toBe(inUse);
    const wide = t.zeros(80); // 320 bytes, 64 of them past the offset
    expect(() => ctx.submit("offset", (b) => k.forward(b, "gelu", n, x, { buffer: wide, offset: 256 }))).toThrow(
      'binding "y" has 64 bytes',
    );
  });
});

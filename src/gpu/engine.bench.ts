/**
 * Timing hook for the `engine` bench scenario (DESIGN §7), measured in one run on one adapter:
 * - matmul GFLOP/s of our kernel vs onnxruntime-web's MatMul (square sizes, each timed end to end
 *   as a caller sees it: upload both operands, multiply, read the product back);
 * - one adapter training step of the pack's denoiser (forward, loss, backward, clipped AdamW, one
 *   submission, waited for) as a ratio to one onnxruntime-web forward of the same batch;
 * - training steps per second.
 * onnxruntime-web is passed in, configured by the caller (asset paths differ between the studio
 * and Node), so this module stays free of it.
 */
import type * as Ort from "onnxruntime-web";
import { adapterNames, denoiserArch } from "../core/engine/arch.ts";
import type { DenoiserInputs } from "../core/engine/denoiser.ts";
import type { Manifest } from "../core/pack/manifest.ts";
import { requireRole } from "../core/pack/roles.ts";
import { parseSafetensors } from "../core/safetensors.ts";
import { gaussian } from "../core/sampling/rng.ts";
import { medianMs } from "../core/timing.ts";
import type { GpuContext } from "./context.ts";
import { GpuDenoiser } from "./denoiser.ts";
import { matmulKernel } from "./kernels/matmul.ts";
import { readFloat32, storageUsage, upload } from "./transfer.ts";

export interface EngineBenchOptions {
  /** Reads a file of the pack folder, e.g. "manifest.json". */
  readPackFile: (name: string) => Promise<Uint8Array>;
  executionProvider: "webgpu" | "wasm";
  sizes?: number[];
  batch?: number;
  warmup?: number;
  runs?: number;
}

export interface EngineBenchResult {
  matmul_ratio_vs_ort: number;
  train_step_over_forward: number;
  steps_per_second: number;
  matmul_gflops: Record<string, { ours: number; ort: number }>;
  train_step_ms: number;
  ort_forward_ms: number;
  batch: number;
  pack: string;
}

/** A one-node ONNX model `C = MatMul(A, B)` (float32, A [m,k], B [k,n]), protobuf-encoded by hand. */
export function matmulOnnx(m: number, k: number, n: number): Uint8Array {
  const varint = (v: number): number[] => {
    const out: number[] = [];
    while (v > 127) {
      out.push((v & 127) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const int = (field: number, v: number) => [...varint(field << 3), ...varint(v)];
  const msg = (field: number, payload: number[]) => [
    ...varint((field << 3) | 2),
    ...varint(payload.length),
    ...payload,
  ];
  const str = (field: number, s: string) => msg(field, [...new TextEncoder().encode(s)]);
  // ValueInfoProto{name, type: TypeProto{tensor_type{elem_type FLOAT, shape{dim{dim_value}}}}}
  const value = (name: string, dims: number[]) =>
    msg(11, [
      ...str(1, name),
      ...msg(
        2,
        msg(1, [
          ...int(1, 1),
          ...msg(
            2,
            dims.flatMap((d) => msg(1, int(1, d))),
          ),
        ]),
      ),
    ]);
  const node = [...str(1, "A"), ...str(1, "B"), ...str(2, "C"), ...str(4, "MatMul")];
  const output = value("C", [m, n]);
  output[0] = (12 << 3) | 2; // graph.output is field 12 (value() writes field 11, graph.input)
  const graph = [...msg(1, node), ...str(2, "matmul"), ...value("A", [m, k]), ...value("B", [k, n]), ...output];
  return new Uint8Array([...int(1, 8), ...msg(7, graph), ...msg(8, [...str(1, ""), ...int(2, 13)])]);
}

export async function benchEngine(
  ctx: GpuContext,
  ort: typeof Ort,
  { readPackFile, executionProvider, sizes = [64, 128, 256], batch = 8, warmup = 2, runs = 5 }: EngineBenchOptions,
): Promise<EngineBenchResult> {
  const sessionOptions = { executionProviders: [executionProvider] };

  // Matmul: ours vs ORT at each size.
  const mm = await matmulKernel(ctx);
  const matmul_gflops: EngineBenchResult["matmul_gflops"] = {};
  const ratios: number[] = [];
  for (const n of sizes) {
    const a = gaussian(1, n * n);
    const b = gaussian(2, n * n);
    const flops = 2 * n ** 3;
    const ours = await medianMs(
      async () => {
        const [ba, bb] = [upload(ctx, a), upload(ctx, b)];
        const bc = ctx.pool.acquire(n * n * 4, storageUsage(), "bench.c");
        ctx.submit("bench.matmul", (batch) => mm(batch, { batch: 1, m: n, n, k: n }, { a: ba, b: bb, c: bc }));
        await readFloat32(ctx, bc, n * n);
        for (const buf of [ba, bb, bc]) ctx.pool.release(buf);
      },
      warmup,
      runs,
    );
    const session = await ort.InferenceSession.create(matmulOnnx(n, n, n), sessionOptions);
    const feeds = { A: new ort.Tensor("float32", a, [n, n]), B: new ort.Tensor("float32", b, [n, n]) };
    const theirs = await medianMs(() => session.run(feeds), warmup, runs);
    await session.release();
    matmul_gflops[n] = { ours: flops / ours / 1e6, ort: flops / theirs / 1e6 };
    ratios.push(theirs / ours);
  }

  // Denoiser: one ORT forward vs one adapter training step, same batch.
  const manifest = JSON.parse(new TextDecoder().decode(await readPackFile("manifest.json"))) as Manifest;
  const arch = denoiserArch(manifest);
  const role = requireRole(manifest, "denoiser");
  const st = await readPackFile(role.weights.file);
  const tensors = parseSafetensors(st).tensors;
  const weights = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const S = arch.latentSize;
  const inputs: DenoiserInputs = {
    latent: gaussian(3, batch * arch.latentChannels * S * S),
    timestep: Float32Array.from({ length: batch }, (_, i) => (i * 997) % 1000),
    promptIds: Int32Array.from({ length: batch * arch.promptLength }, (_, i) => (i * 7) % arch.promptVocab),
    imageTokens: gaussian(4, batch * arch.imageTokens * arch.imageDim),
    ipScale: 1,
  };
  const session = await ort.InferenceSession.create(await readPackFile(role.file), sessionOptions);
  const feeds: Record<string, Ort.Tensor> = {
    latent: new ort.Tensor("float32", inputs.latent, [batch, arch.latentChannels, S, S]),
    timestep: new ort.Tensor("float32", Float32Array.from(inputs.timestep), [batch]),
    prompt_ids: new ort.Tensor("int64", BigInt64Array.from(inputs.promptIds, BigInt), [batch, arch.promptLength]),
    image_tokens: new ort.Tensor("float32", inputs.imageTokens, [batch, arch.imageTokens, arch.imageDim]),
    ip_scale: new ort.Tensor("float32", new Float32Array([1]), [1]),
  };
  for (const n of adapterNames(arch)) {
    feeds[n] = new ort.Tensor("float32", weights.get(n) as Float32Array, [arch.width, arch.imageDim]);
  }
  const ort_forward_ms = await medianMs(() => session.run(feeds), warmup, runs);
  await session.release();

  const den = await GpuDenoiser.create(ctx, arch, weights);
  const train = { inputs, target: gaussian(5, inputs.latent.length) };
  const train_step_ms = await medianMs(
    async () => {
      den.trainStep(train, { lr: 3e-5, weightDecay: 0.01, maxNorm: 1 });
      await ctx.sync();
    },
    warmup,
    runs,
  );
  den.destroy();

  return {
    matmul_ratio_vs_ort: Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length),
    train_step_over_forward: train_step_ms / ort_forward_ms,
    steps_per_second: 1000 / train_step_ms,
    matmul_gflops,
    train_step_ms,
    ort_forward_ms,
    batch,
    pack: manifest.id,
  };
}

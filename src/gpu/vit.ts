/**
 * The patch encoder (ViT) of foundry/ARCHITECTURE.md on the WGSL kernels, layer by layer the same
 * as the CPU engine's `CpuVit` (core/engine/vit.ts), which is its oracle. The forward (patch
 * features of a batch of images) serves quality maps from an enhanced encoder; each parameter is
 * one buffer, so an enhanced encoder's weights can be written in place.
 */
import type { AttentionShape } from "../core/engine/ops.ts";
import { type VitArch, vitParameters } from "../core/engine/vit.ts";
import type { CommandBatch } from "./batch.ts";
import type { GpuContext } from "./context.ts";
import { type GraphKernels, graphKernels } from "./denoiser-graph.ts";
import { readFloat32, storageUsage, upload } from "./transfer.ts";

type F32 = Float32Array;

export class GpuVit {
  private constructor(
    private readonly ctx: GpuContext,
    readonly arch: VitArch,
    private readonly k: GraphKernels,
    private readonly params: Map<string, GPUBuffer>,
  ) {}

  static async create(ctx: GpuContext, arch: VitArch, weights: ReadonlyMap<string, F32>): Promise<GpuVit> {
    const params = new Map<string, GPUBuffer>();
    for (const [name, size] of vitParameters(arch)) {
      const t = weights.get(name);
      if (!t || t.length !== size) {
        for (const b of params.values()) ctx.pool.release(b);
        throw new Error(
          `patch encoder weights: ${name} ${t ? `has ${t.length} values, the architecture ${size}` : "is missing"}`,
        );
      }
      params.set(name, upload(ctx, t));
    }
    return new GpuVit(ctx, arch, await graphKernels(ctx), params);
  }

  /** Patches per image. */
  get tokens(): number {
    return (this.arch.image / this.arch.patch) ** 2;
  }

  /** Replaces the parameters (an enhanced encoder's weights), by name. */
  write(weights: ReadonlyMap<string, F32>): void {
    for (const [name, t] of weights) {
      const buf = this.params.get(name);
      if (!buf) throw new Error(`patch encoder: no parameter ${name}`);
      this.ctx.device.queue.writeBuffer(buf, 0, t.buffer, t.byteOffset, t.byteLength);
    }
  }

  destroy(): void {
    for (const b of this.params.values()) this.ctx.pool.release(b);
    this.params.clear();
  }

  /** Features `[B·T, dim]` of images `[B, 3, size, size]`, read back. */
  async features(images: F32): Promise<F32> {
    const { image, dim } = this.arch;
    const batch = images.length / (3 * image * image);
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError(`patch encoder: ${images.length} values are not whole 3×${image}×${image} images`);
    const out = this.ctx.pool.acquire(batch * this.tokens * dim * 4, storageUsage(), "vit.features");
    try {
      this.ctx.submit("vit.forward", (b) => {
        const features = this.forward(b, b.upload(images, storageUsage()), batch);
        b.copy(features, 0, out, 0, batch * this.tokens * dim * 4);
      });
      return await readFloat32(this.ctx, out, batch * this.tokens * dim);
    } finally {
      this.ctx.pool.release(out);
    }
  }

  /** Records the forward of `batch` images in `images`; returns the features (a batch temporary). */
  forward(b: CommandBatch, images: GPUBuffer, batch: number): GPUBuffer {
    const { image, patch, width: w, depth, heads, mlpRatio, dim, eps } = this.arch;
    const { mm, ln, act, attn, tensor } = this.k;
    const T = this.tokens;
    const rows = batch * T;
    const t = (floats: number) => b.temp(floats * 4, storageUsage());
    const p = (name: string) => this.params.get(name) as GPUBuffer;
    const linear = (x: GPUBuffer, name: string, inF: number, outF: number, y: GPUBuffer) =>
      mm(
        b,
        { batch: 1, m: rows, n: outF, k: inF, transB: true, bias: true },
        { a: x, b: p(`${name}.weight`), c: y, bias: p(`${name}.bias`) },
      );
    const lnShape = { rows, c: w, eps };
    const self: AttentionShape = { batch, n: T, m: T, heads, d: w / heads };

    // x = patchify(image)·W_peᵀ + b_pe + pos.
    const tokens = t(rows * 3 * patch * patch);
    tensor.patchify(b, { batch, channels: 3, size: image, patch }, images, tokens);
    let x = t(rows * w);
    linear(tokens, "patch_embed", 3 * patch * patch, w, x);
    tensor.addBroadcast(b, rows * w, p("pos_embed"), T * w, x, { accumulate: true });
    for (let l = 0; l < depth; l++) {
      const at = (m: string) => `layers.${l}.${m}`;
      const affine = (m: string) => ({ gamma: p(`${at(m)}.weight`), beta: p(`${at(m)}.bias`) });
      // x += proj(Attn(q, k, v)), [q | k | v] = qkv(LN₁(x)).
      const [n1, qkv, probs, att] = [t(rows * w), t(rows * 3 * w), t(batch * heads * T * T), t(rows * w)];
      ln.forward(b, lnShape, x, n1, t(2 * rows), affine("norm1"));
      linear(n1, at("qkv"), w, 3 * w, qkv);
      const col = (offset: number) => ({ buf: qkv, stride: 3 * w, offset });
      attn.forward(b, self, { q: col(0), k: col(w), v: col(2 * w) }, probs, att);
      const x1 = t(rows * w);
      linear(att, at("proj"), w, w, x1);
      tensor.addBroadcast(b, rows * w, x, rows * w, x1, { accumulate: true });
      // x += fc2(gelu(fc1(LN₂(x)))).
      const [n2, f1, g, x2] = [t(rows * w), t(rows * mlpRatio * w), t(rows * mlpRatio * w), t(rows * w)];
      ln.forward(b, lnShape, x1, n2, t(2 * rows), affine("norm2"));
      linear(n2, at("fc1"), w, mlpRatio * w, f1);
      act.forward(b, "gelu", rows * mlpRatio * w, f1, g);
      linear(g, at("fc2"), mlpRatio * w, w, x2);
      tensor.addBroadcast(b, rows * w, x1, rows * w, x2, { accumulate: true });
      x = x2;
    }
    const [nOut, features] = [t(rows * w), t(rows * dim)];
    ln.forward(b, lnShape, x, nOut, t(2 * rows), { gamma: p("norm.weight"), beta: p("norm.bias") });
    linear(nOut, "head", w, dim, features);
    return features;
  }
}

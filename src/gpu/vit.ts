/**
 * The patch encoder (ViT) of foundry/ARCHITECTURE.md on the WGSL kernels, layer by layer the same
 * as the CPU engine's `CpuVit` (core/engine/vit.ts), which is its oracle: the forward (patch
 * features, for quality maps from an enhanced encoder) and the backward of every parameter (for
 * enhancing it). The parameters live in one flat buffer (flat-layout.ts) in `vitParameters`'
 * order, and their gradients in another of the same layout: the last block, the final norm and the
 * head are its tail, so training all or only those is one AdamW pass over one range.
 */
import type { AttentionShape } from "../core/engine/ops.ts";
import { type VitArch, vitParameters } from "../core/engine/vit.ts";
import type { CommandBatch } from "./batch.ts";
import type { GpuContext } from "./context.ts";
import { type GraphKernels, graphKernels } from "./denoiser-graph.ts";
import { FlatLayout } from "./flat-layout.ts";
import { readFloat32, storageUsage, upload } from "./transfer.ts";

type F32 = Float32Array;

interface LayerTape {
  x: GPUBuffer;
  st1: GPUBuffer;
  n1: GPUBuffer;
  qkv: GPUBuffer;
  probs: GPUBuffer;
  att: GPUBuffer;
  x1: GPUBuffer;
  st2: GPUBuffer;
  n2: GPUBuffer;
  f1: GPUBuffer;
  g: GPUBuffer;
}

/** What the backward reads of a forward (batch temporaries of the batch that recorded it). */
export interface VitTape {
  batch: number;
  tokens: GPUBuffer;
  layers: LayerTape[];
  xOut: GPUBuffer;
  stOut: GPUBuffer;
  nOut: GPUBuffer;
  features: GPUBuffer;
}

export class GpuVit {
  private constructor(
    private readonly ctx: GpuContext,
    readonly arch: VitArch,
    private readonly k: GraphKernels,
    /** Where each parameter lies in `params` and in a gradient buffer. */
    readonly layout: FlatLayout,
    /** Every parameter, flat. */
    readonly params: GPUBuffer,
  ) {}

  static async create(ctx: GpuContext, arch: VitArch, weights: ReadonlyMap<string, F32>): Promise<GpuVit> {
    const layout = new FlatLayout(vitParameters(arch), ctx.device.limits.minStorageBufferOffsetAlignment);
    const flat = layout.pack(weights, "patch encoder weights");
    return new GpuVit(ctx, arch, await graphKernels(ctx), layout, upload(ctx, flat));
  }

  /** Patches per image. */
  get tokens(): number {
    return (this.arch.image / this.arch.patch) ** 2;
  }

  /** Replaces parameters (an enhanced encoder's weights, a checkpoint's), by name. */
  write(weights: ReadonlyMap<string, F32>): void {
    for (const [name, t] of weights) {
      if (!this.layout.has(name)) throw new Error(`patch encoder: no parameter ${name}`);
      this.ctx.device.queue.writeBuffer(this.params, this.layout.offset(name), t.buffer, t.byteOffset, t.byteLength);
    }
  }

  /** Every parameter, read back, by name. */
  async weights(): Promise<Map<string, F32>> {
    return this.layout.split(await readFloat32(this.ctx, this.params, this.layout.bytes / 4));
  }

  destroy(): void {
    this.ctx.pool.release(this.params);
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
        const { features } = this.forward(b, b.upload(images, storageUsage()), batch);
        b.copy(features, 0, out, 0, batch * this.tokens * dim * 4);
      });
      return await readFloat32(this.ctx, out, batch * this.tokens * dim);
    } finally {
      this.ctx.pool.release(out);
    }
  }

  /** Records the forward of `batch` images in `images`; the tape holds the features (a batch temporary). */
  forward(b: CommandBatch, images: GPUBuffer, batch: number): VitTape {
    const { image, patch, width: w, depth, heads, mlpRatio, dim, eps } = this.arch;
    const { mm, ln, act, attn, tensor } = this.k;
    const T = this.tokens;
    const rows = batch * T;
    const t = (floats: number) => b.temp(floats * 4, storageUsage());
    const p = (name: string) => this.layout.view(this.params, name);
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
    const layers: LayerTape[] = [];
    linear(tokens, "patch_embed", 3 * patch * patch, w, x);
    tensor.addBroadcast(b, rows * w, p("pos_embed"), T * w, x, { accumulate: true });
    for (let l = 0; l < depth; l++) {
      const at = (m: string) => `layers.${l}.${m}`;
      const affine = (m: string) => ({ gamma: p(`${at(m)}.weight`), beta: p(`${at(m)}.bias`) });
      // x += proj(Attn(q, k, v)), [q | k | v] = qkv(LN₁(x)).
      const [n1, qkv, probs, att, st1] = [
        t(rows * w),
        t(rows * 3 * w),
        t(batch * heads * T * T),
        t(rows * w),
        t(2 * rows),
      ];
      ln.forward(b, lnShape, x, n1, st1, affine("norm1"));
      linear(n1, at("qkv"), w, 3 * w, qkv);
      const col = (offset: number) => ({ buf: qkv, stride: 3 * w, offset });
      attn.forward(b, self, { q: col(0), k: col(w), v: col(2 * w) }, probs, att);
      const x1 = t(rows * w);
      linear(att, at("proj"), w, w, x1);
      tensor.addBroadcast(b, rows * w, x, rows * w, x1, { accumulate: true });
      // x += fc2(gelu(fc1(LN₂(x)))).
      const [n2, f1, g, x2, st2] = [
        t(rows * w),
        t(rows * mlpRatio * w),
        t(rows * mlpRatio * w),
        t(rows * w),
        t(2 * rows),
      ];
      ln.forward(b, lnShape, x1, n2, st2, affine("norm2"));
      linear(n2, at("fc1"), w, mlpRatio * w, f1);
      act.forward(b, "gelu", rows * mlpRatio * w, f1, g);
      linear(g, at("fc2"), mlpRatio * w, w, x2);
      tensor.addBroadcast(b, rows * w, x1, rows * w, x2, { accumulate: true });
      layers.push({ x, st1, n1, qkv, probs, att, x1, st2, n2, f1, g });
      x = x2;
    }
    const [nOut, features, stOut] = [t(rows * w), t(rows * dim), t(2 * rows)];
    ln.forward(b, lnShape, x, nOut, stOut, { gamma: p("norm.weight"), beta: p("norm.bias") });
    linear(nOut, "head", w, dim, features);
    return { batch, tokens, layers, xOut: x, stOut, nOut, features };
  }

  /**
   * Records ∂L/∂ every parameter into `grads` (a buffer of `layout`, overwritten), given
   * ∂L/∂features; the same steps as `CpuVit.backward`.
   */
  backward(b: CommandBatch, tape: VitTape, dFeatures: GPUBuffer, grads: GPUBuffer): void {
    const { patch, width: w, depth, heads, mlpRatio, dim, eps } = this.arch;
    const { mm, ln, act, attn } = this.k;
    const { batch } = tape;
    const T = this.tokens;
    const rows = batch * T;
    const t = (floats: number) => b.temp(floats * 4, storageUsage());
    const p = (name: string) => this.layout.view(this.params, name);
    const gr = (name: string) => this.layout.view(grads, name);
    const ones = b.upload(new Float32Array(rows).fill(1), storageUsage());
    /** dW = dyᵀ·x, db = 1ᵀ·dy, and dx = dy·W into `dx` when given. */
    const linearBack = (dy: GPUBuffer, x: GPUBuffer, name: string, inF: number, outF: number, dx?: GPUBuffer) => {
      mm(b, { batch: 1, m: outF, n: inF, k: rows, transA: true }, { a: dy, b: x, c: gr(`${name}.weight`) });
      mm(b, { batch: 1, m: 1, n: outF, k: rows }, { a: ones, b: dy, c: gr(`${name}.bias`) });
      if (dx) mm(b, { batch: 1, m: rows, n: inF, k: outF }, { a: dy, b: p(`${name}.weight`), c: dx });
    };
    const lnBack = (
      dy: GPUBuffer,
      x: GPUBuffer,
      stats: GPUBuffer,
      name: string,
      dx: GPUBuffer,
      accumulate: boolean,
    ) => {
      const s = { rows, c: w, eps };
      ln.backward(b, s, { dy, x, stats, gamma: p(`${name}.weight`) }, dx, accumulate);
      ln.backwardParams(b, s, { dy, x, stats }, { dgamma: gr(`${name}.weight`), dbeta: gr(`${name}.bias`) });
    };
    const self: AttentionShape = { batch, n: T, m: T, heads, d: w / heads };

    const dn = t(rows * w);
    linearBack(dFeatures, tape.nOut, "head", w, dim, dn);
    let dx = t(rows * w);
    lnBack(dn, tape.xOut, tape.stOut, "norm", dx, false);
    for (let l = depth - 1; l >= 0; l--) {
      const s = tape.layers[l];
      const at = (m: string) => `layers.${l}.${m}`;
      // x2 = x1 + fc2(gelu(fc1(LN₂(x1)))).
      const [dg, df1, dn2] = [t(rows * mlpRatio * w), t(rows * mlpRatio * w), t(rows * w)];
      linearBack(dx, s.g, at("fc2"), mlpRatio * w, w, dg);
      act.backward(b, "gelu", rows * mlpRatio * w, dg, s.f1, df1);
      linearBack(df1, s.n2, at("fc1"), w, mlpRatio * w, dn2);
      const dx1 = t(rows * w);
      b.copy(dx, 0, dx1, 0, rows * w * 4);
      lnBack(dn2, s.x1, s.st2, at("norm2"), dx1, true);
      // x1 = x + proj(Attn(q, k, v)), [q | k | v] = qkv(LN₁(x)).
      const [dAtt, dqkv, dn1] = [t(rows * w), t(rows * 3 * w), t(rows * w)];
      linearBack(dx1, s.att, at("proj"), w, w, dAtt);
      const col = (offset: number) => ({ buf: s.qkv, stride: 3 * w, offset });
      attn.backward(
        b,
        self,
        { q: col(0), k: col(w), v: col(2 * w), probs: s.probs, dout: dAtt },
        {
          dq: { buf: dqkv },
          dk: { buf: dqkv },
          dv: { buf: dqkv },
        },
      );
      linearBack(dqkv, s.n1, at("qkv"), w, 3 * w, dn1);
      const dx0 = t(rows * w);
      b.copy(dx1, 0, dx0, 0, rows * w * 4);
      lnBack(dn1, s.x, s.st1, at("norm1"), dx0, true);
      dx = dx0;
    }
    // x = tokens·W_peᵀ + b_pe + pos: pos gets the sum over the batch (1ᵀ·dx over [B, T·w]).
    mm(b, { batch: 1, m: 1, n: T * w, k: batch }, { a: ones, b: dx, c: gr("pos_embed") });
    linearBack(dx, tape.tokens, "patch_embed", 3 * patch * patch, w);
  }
}

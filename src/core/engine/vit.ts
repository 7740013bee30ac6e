/**
 * The patch encoder of foundry/ARCHITECTURE.md (a ViT) on the CPU backend, forward and backward
 * written out layer by layer: the oracle for its WGSL counterpart and the engine of encoder
 * enhancement (issue 18). Every parameter is trainable; the backward returns ∂L/∂ each of them.
 *
 *   tokens = patchify(image)                        [B·T, 3p²]   (conv p×p stride p as a matmul)
 *   x = tokens·W_peᵀ + b_pe + pos                   [B·T, w]
 *   per layer: q,k,v = chunk(qkv(LN₁(x)));  x += proj(Attn(q, k, v))
 *              x += fc2(gelu(fc1(LN₂(x))))
 *   features = head(LN(x))                          [B·T, dim]   (row-major grid, not normalized)
 */

import type { Manifest } from "../pack/manifest";
import { requireRole } from "../pack/roles";
import { gaussian, uniformStream } from "../sampling/rng";
import {
  type AttentionShape,
  addInto,
  attention,
  attentionBackward,
  type F32,
  gelu,
  geluBackward,
  type LayerNormSaved,
  layerNorm,
  layerNormBackward,
  linear,
  linearBackward,
  type PatchShape,
  patchify,
} from "./ops";
import { copyOf, tensor } from "./scratch";

export interface VitArch {
  /** Input side in pixels (square, 3 channels). */
  image: number;
  patch: number;
  width: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  /** Feature size per patch. */
  dim: number;
  /** LayerNorm ε (PyTorch's default). */
  eps: number;
}

/** The pack's patch encoder as the engine builds it; refuses a pack whose manifest does not describe one. */
export function vitArch(manifest: Manifest): VitArch {
  const role = requireRole(manifest, "patch_encoder");
  const a = role.architecture;
  if (!a || !role.weights)
    throw new Error(
      `pack "${manifest.id}": roles.patch_encoder has no architecture and weights, so the engine cannot build its encoder`,
    );
  return {
    image: manifest.image.size,
    patch: a.patch,
    width: a.width,
    depth: a.depth,
    heads: a.heads,
    mlpRatio: a.mlp_ratio,
    dim: role.dim,
    eps: a.norm_eps,
  };
}

/** The tensor names of a ViT, in the foundry's order, with their sizes. */
export function vitParameters(arch: VitArch): [string, number][] {
  const { width: w, patch, mlpRatio: r, dim } = arch;
  const tokens = (arch.image / patch) ** 2;
  const layer = (i: number): [string, number][] =>
    (
      [
        ["norm1", w, w],
        ["qkv", 3 * w * w, 3 * w],
        ["proj", w * w, w],
        ["norm2", w, w],
        ["fc1", r * w * w, r * w],
        ["fc2", r * w * w, w],
      ] as const
    ).flatMap(([m, weight, bias]) => [
      [`layers.${i}.${m}.weight`, weight],
      [`layers.${i}.${m}.bias`, bias],
    ]);
  return [
    ["pos_embed", tokens * w],
    ["patch_embed.weight", w * 3 * patch * patch],
    ["patch_embed.bias", w],
    ...Array.from({ length: arch.depth }, (_, i) => layer(i)).flat(),
    ["norm.weight", w],
    ["norm.bias", w],
    ["head.weight", dim * w],
    ["head.bias", dim],
  ];
}

/**
 * Fresh weights for `arch`, as PyTorch initialises the foundry's modules: linear and patch
 * weights and biases U(±1/√fan_in), LayerNorm γ = 1 and β = 0, positions N(0, 0.02²).
 */
export function initVit(arch: VitArch, seed: number): Map<string, F32> {
  const rand = uniformStream(seed);
  const uniform = (n: number, bound: number) => Float32Array.from({ length: n }, () => (2 * rand() - 1) * bound);
  const fanIn: Record<string, number> = {
    patch_embed: 3 * arch.patch * arch.patch,
    qkv: arch.width,
    proj: arch.width,
    fc1: arch.width,
    fc2: arch.mlpRatio * arch.width,
    head: arch.width,
  };
  const parameters = vitParameters(arch);
  const normal = gaussian(seed + 1, parameters[0][1]);
  return new Map(
    parameters.map(([name, size]): [string, F32] => {
      if (name === "pos_embed") return [name, normal.map((v) => 0.02 * v)];
      const [module, kind] = name.split(".").slice(-2);
      if (/norm/.test(module)) return [name, new Float32Array(size).fill(kind === "weight" ? 1 : 0)];
      return [name, uniform(size, 1 / Math.sqrt(fanIn[module]))];
    }),
  );
}

/** Columns `[from, from + count)` of a `[rows, width]` tensor. */
function columns(x: F32, rows: number, width: number, from: number, count: number): F32 {
  const out = tensor(rows * count);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * width + from, r * width + from + count), r * count);
  return out;
}

/** `dst[:, from + j] += src[:, j]` for a `[rows, width]` dst. */
function addColumns(dst: F32, src: F32, rows: number, width: number, from: number): void {
  const count = src.length / rows;
  for (let r = 0; r < rows; r++) for (let j = 0; j < count; j++) dst[r * width + from + j] += src[r * count + j];
}

interface LayerTape {
  x: F32;
  ln1: LayerNormSaved;
  n1: F32;
  q: F32;
  k: F32;
  v: F32;
  probs: F32;
  att: F32;
  x1: F32;
  ln2: LayerNormSaved;
  n2: F32;
  f1: F32;
  g: F32;
}

export interface VitTape {
  batch: number;
  tokens: F32;
  layers: LayerTape[];
  xOut: F32;
  lnOut: LayerNormSaved;
  nOut: F32;
}

export class CpuVit {
  /** Every parameter, by name (copies: training changes them). */
  readonly params: Map<string, F32>;

  constructor(
    readonly arch: VitArch,
    weights: ReadonlyMap<string, F32>,
  ) {
    this.params = new Map(
      vitParameters(arch).map(([n, size]) => {
        const t = weights.get(n);
        if (!t) throw new Error(`patch encoder weights: missing tensor ${n}`);
        if (t.length !== size)
          throw new Error(`patch encoder weights: ${n} has ${t.length} values, the architecture ${size}`);
        return [n, t.slice()];
      }),
    );
  }

  /** Patches per image. */
  get tokens(): number {
    return (this.arch.image / this.arch.patch) ** 2;
  }

  private p(name: string): F32 {
    return this.params.get(name) as F32;
  }

  private patchShape(batch: number): PatchShape {
    return { batch, channels: 3, size: this.arch.image, patch: this.arch.patch };
  }

  private attentionShape(batch: number): AttentionShape {
    const { heads, width } = this.arch;
    return { batch, n: this.tokens, m: this.tokens, heads, d: width / heads };
  }

  /** Features `[B·T, dim]` of images `[B, 3, size, size]` in the pack's range. */
  forward(images: F32): { features: F32; tape: VitTape } {
    const { image, patch, width: w, mlpRatio, dim, eps } = this.arch;
    const batch = images.length / (3 * image * image);
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError(`patch encoder: ${images.length} values are not whole 3×${image}×${image} images`);
    const T = this.tokens;
    const rows = batch * T;
    const tokens = patchify(images, this.patchShape(batch));
    let x = linear(tokens, this.p("patch_embed.weight"), this.p("patch_embed.bias"), rows, 3 * patch * patch, w);
    const pos = this.p("pos_embed");
    for (let b = 0; b < batch; b++) for (let i = 0; i < T * w; i++) x[b * T * w + i] += pos[i];
    const layers: LayerTape[] = [];
    for (let l = 0; l < this.arch.depth; l++) {
      const at = (m: string) => this.p(`layers.${l}.${m}`);
      const { y: n1, saved: ln1 } = layerNorm(x, rows, w, eps, at("norm1.weight"), at("norm1.bias"));
      const qkv = linear(n1, at("qkv.weight"), at("qkv.bias"), rows, w, 3 * w);
      const [q, k, v] = [0, 1, 2].map((c) => columns(qkv, rows, 3 * w, c * w, w));
      const { out: att, probs } = attention(q, k, v, this.attentionShape(batch));
      const x1 = copyOf(x);
      addInto(x1, linear(att, at("proj.weight"), at("proj.bias"), rows, w, w));
      const { y: n2, saved: ln2 } = layerNorm(x1, rows, w, eps, at("norm2.weight"), at("norm2.bias"));
      const f1 = linear(n2, at("fc1.weight"), at("fc1.bias"), rows, w, mlpRatio * w);
      const g = gelu(f1);
      const x2 = copyOf(x1);
      addInto(x2, linear(g, at("fc2.weight"), at("fc2.bias"), rows, mlpRatio * w, w));
      layers.push({ x, ln1, n1, q, k, v, probs, att, x1, ln2, n2, f1, g });
      x = x2;
    }
    const { y: nOut, saved: lnOut } = layerNorm(x, rows, w, eps, this.p("norm.weight"), this.p("norm.bias"));
    const features = linear(nOut, this.p("head.weight"), this.p("head.bias"), rows, w, dim);
    return { features, tape: { batch, tokens, layers, xOut: x, lnOut, nOut } };
  }

  /** ∂L/∂ every parameter, given ∂L/∂features. */
  backward(tape: VitTape, dFeatures: F32): Map<string, F32> {
    const { patch, width: w, mlpRatio, dim } = this.arch;
    const { batch } = tape;
    const T = this.tokens;
    const rows = batch * T;
    const grads = new Map([...this.params].map(([n, t]) => [n, tensor(t.length)]));
    const gr = (n: string) => grads.get(n) as F32;

    const dn = tensor(rows * w);
    linearBackward(dFeatures, tape.nOut, this.p("head.weight"), rows, w, dim, {
      dx: dn,
      dw: gr("head.weight"),
      db: gr("head.bias"),
    });
    let dx = tensor(rows * w);
    layerNormBackward(
      dn,
      tape.xOut,
      tape.lnOut,
      rows,
      w,
      { dx, dgamma: gr("norm.weight"), dbeta: gr("norm.bias") },
      this.p("norm.weight"),
    );
    for (let l = this.arch.depth - 1; l >= 0; l--) {
      const s = tape.layers[l];
      const at = (m: string) => this.p(`layers.${l}.${m}`);
      const g = (m: string) => gr(`layers.${l}.${m}`);
      // x2 = x1 + fc2(gelu(fc1(LN₂(x1)))): dx1 = dx2 + the MLP branch's backward.
      const dx1 = copyOf(dx);
      const dg = tensor(rows * mlpRatio * w);
      linearBackward(dx, s.g, at("fc2.weight"), rows, mlpRatio * w, w, {
        dx: dg,
        dw: g("fc2.weight"),
        db: g("fc2.bias"),
      });
      const df1 = tensor(rows * mlpRatio * w);
      geluBackward(dg, s.f1, df1);
      const dn2 = tensor(rows * w);
      linearBackward(df1, s.n2, at("fc1.weight"), rows, w, mlpRatio * w, {
        dx: dn2,
        dw: g("fc1.weight"),
        db: g("fc1.bias"),
      });
      layerNormBackward(
        dn2,
        s.x1,
        s.ln2,
        rows,
        w,
        { dx: dx1, dgamma: g("norm2.weight"), dbeta: g("norm2.bias") },
        at("norm2.weight"),
      );
      // x1 = x + proj(Attn(q, k, v)), [q|k|v] = qkv(LN₁(x)).
      const dx0 = copyOf(dx1);
      const dAtt = tensor(rows * w);
      linearBackward(dx1, s.att, at("proj.weight"), rows, w, w, { dx: dAtt, dw: g("proj.weight"), db: g("proj.bias") });
      const [dq, dk, dv] = [tensor(rows * w), tensor(rows * w), tensor(rows * w)];
      attentionBackward(dAtt, s.q, s.k, s.v, s.probs, this.attentionShape(batch), { dq, dk, dv });
      const dqkv = tensor(rows * 3 * w);
      for (const [c, d] of [dq, dk, dv].entries()) addColumns(dqkv, d, rows, 3 * w, c * w);
      const dn1 = tensor(rows * w);
      linearBackward(dqkv, s.n1, at("qkv.weight"), rows, w, 3 * w, { dx: dn1, dw: g("qkv.weight"), db: g("qkv.bias") });
      layerNormBackward(
        dn1,
        s.x,
        s.ln1,
        rows,
        w,
        { dx: dx0, dgamma: g("norm1.weight"), dbeta: g("norm1.bias") },
        at("norm1.weight"),
      );
      dx = dx0;
    }
    // x = tokens·W_peᵀ + b_pe + pos: pos gets the sum over the batch.
    const dPos = gr("pos_embed");
    for (let b = 0; b < batch; b++) for (let i = 0; i < T * w; i++) dPos[i] += dx[b * T * w + i];
    linearBackward(dx, tape.tokens, this.p("patch_embed.weight"), rows, 3 * patch * patch, w, {
      dw: gr("patch_embed.weight"),
      db: gr("patch_embed.bias"),
    });
    return grads;
  }
}

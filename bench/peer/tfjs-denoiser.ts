/**
 * Bench-only peer (issue 17): the built-in DiT denoiser and one adapter training step written in
 * TensorFlow.js ops, so the engines can be checked against, and timed against, a mainstream
 * autodiff library. The network is that of src/core/engine/denoiser.ts, from the same pack
 * weights; the trainable tensors are the `to_k_ip`/`to_v_ip` adapters (no LoRA). Gradients come
 * from `tf.variableGrads`; the step is the engines' step: the objective of core/engine/trainer.ts
 * (weighted MSE or Diffusion-DPO against the frozen starting adapter), global-norm clipping and
 * AdamW with core/engine/optim.ts's formulas, all queued on the backend without a readback.
 * The caller picks and registers the tfjs backend; production code never imports this module.
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core alone registers no gradient functions (the @tensorflow/tfjs bundle does this import).
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { adapterNames, type DenoiserArch, gridTokens } from "../../src/core/engine/arch";
import type { DenoiserInputs } from "../../src/core/engine/denoiser";
import { timestepEmbedding } from "../../src/core/engine/ops";
import { ADAMW_DEFAULTS, type OptimizerState } from "../../src/core/engine/optim";
import { imageKeys } from "../../src/core/engine/references";
import { MSE, type Objective, type TrainingBatch, type TrainOptions } from "../../src/core/engine/trainer";

type F32 = Float32Array;

/** `[out, in]` (or table) shape of every tensor the network reads, from the architecture. */
function weightShapes(a: DenoiserArch): Map<string, number[]> {
  const C = a.width;
  const H = a.mlpRatio * C;
  const T = gridTokens(a);
  const feat = a.latentChannels * a.patch * a.patch;
  const s = new Map<string, number[]>([
    ["x_embed.weight", [C, feat]],
    ["x_embed.bias", [C]],
    ["pos_embed", [1, T, C]],
    ["t_fc1.weight", [C, a.freqDim]],
    ["t_fc1.bias", [C]],
    ["t_fc2.weight", [C, C]],
    ["t_fc2.bias", [C]],
    ["prompt_embed.weight", [a.promptVocab, C]],
    ["prompt_pos", [1, a.promptLength, C]],
    ["ada_out.weight", [2 * C, C]],
    ["ada_out.bias", [2 * C]],
    ["out.weight", [feat, C]],
    ["out.bias", [feat]],
  ]);
  if (a.spatialPrompt) {
    s.set("prompt_map", [a.promptVocab, T]);
    s.set("prompt_vec", [a.promptVocab, C]);
  }
  for (let i = 0; i < a.depth; i++) {
    const b = (n: string, shape: number[]) => s.set(`blocks.${i}.${n}`, shape);
    b("ada.weight", [6 * C, C]);
    b("ada.bias", [6 * C]);
    b("qkv.weight", [3 * C, C]);
    b("qkv.bias", [3 * C]);
    b("proj.weight", [C, C]);
    b("proj.bias", [C]);
    b("norm2.weight", [C]);
    b("norm2.bias", [C]);
    b("attn_ip.to_q.weight", [C, C]);
    b("attn_ip.to_k.weight", [C, C]);
    b("attn_ip.to_v.weight", [C, C]);
    b("attn_ip.to_k_ip.weight", [C, a.imageDim]);
    b("attn_ip.to_v_ip.weight", [C, a.imageDim]);
    b("attn_ip.to_out.weight", [C, C]);
    b("attn_ip.to_out.bias", [C]);
    b("fc1.weight", [H, C]);
    b("fc1.bias", [H]);
    b("fc2.weight", [C, H]);
    b("fc2.bias", [C]);
  }
  return s;
}

const GELU_K = Math.sqrt(2 / Math.PI);

/** `x·Wᵀ + b` over rows, W `[out, in]` as PyTorch stores it. */
function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w, false, true) as tf.Tensor2D;
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

/** Plain layer norm over the last axis (biased variance), optionally affine. */
function layerNorm(x: tf.Tensor, eps: number, gamma?: tf.Tensor, beta?: tf.Tensor): tf.Tensor {
  const xc = tf.sub(x, tf.mean(x, -1, true));
  const y = tf.mul(xc, tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)));
  return gamma && beta ? tf.add(tf.mul(y, gamma), beta) : y;
}

function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(GELU_K, tf.add(x, tf.mul(0.044715, tf.mul(x, tf.square(x)))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));

/** Multi-head attention, q `[B·n, H·d]`, k/v `[B·m, H·d]` → `[B·n, H·d]`. */
function attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, B: number, n: number, m: number, heads: number) {
  const d = q.shape[1] as number;
  const hd = d / heads;
  const split = (t: tf.Tensor, len: number) => tf.transpose(tf.reshape(t, [B, len, heads, hd]), [0, 2, 1, 3]);
  const scores = tf.mul(tf.matMul(split(q, n), split(k, m), false, true), 1 / Math.sqrt(hd));
  const o = tf.matMul(tf.softmax(scores), split(v, m));
  return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B * n, d]) as tf.Tensor2D;
}

/** `x[b,t,:]·(1 + scale[b,:]) + shift[b,:]` for x `[B, T, C]` and `[B, C]` shift/scale. */
function modulate(x: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, tf.add(1, tf.expandDims(scale, 1))), tf.expandDims(shift, 1));
}

export class TfjsDenoiser {
  /** The trained adapter tensors, by PyTorch name. */
  readonly adapter: Map<string, tf.Variable>;
  private readonly frozen: Map<string, tf.Tensor>;
  /** The starting adapter: the frozen reference model of the DPO objective. */
  private readonly base: Map<string, tf.Tensor>;
  private readonly moments: Map<string, { m: tf.Variable; v: tf.Variable }>;
  private t = 0;
  private lastLoss?: tf.Scalar;

  /** `ref_embed` of a denoiser grown for several references (core/engine/references.ts). */
  private readonly refEmbed?: F32;

  constructor(
    readonly arch: DenoiserArch,
    weights: ReadonlyMap<string, F32>,
  ) {
    this.refEmbed = arch.maxReferences > 1 ? weights.get("ref_embed") : undefined;
    const shapes = weightShapes(arch);
    this.frozen = new Map(
      [...shapes].map(([name, shape]) => {
        const data = weights.get(name);
        if (!data) throw new Error(`denoiser weights: missing tensor ${name}`);
        return [name, tf.tensor(data, shape)];
      }),
    );
    const names = adapterNames(arch);
    this.base = new Map(names.map((n) => [n, this.frozen.get(n) as tf.Tensor]));
    this.adapter = new Map(names.map((n) => [n, tf.variable(this.frozen.get(n) as tf.Tensor, true)]));
    this.moments = new Map(
      names.map((n) => {
        const shape = shapes.get(n) as number[];
        return [n, { m: tf.variable(tf.zeros(shape), false), v: tf.variable(tf.zeros(shape), false) }];
      }),
    );
  }

  private w(name: string): tf.Tensor {
    const t = this.frozen.get(name);
    if (!t) throw new Error(`tfjs peer: no tensor ${name}`);
    return t;
  }

  /** ε̂ `[B·channels·size·size]` (the latent's layout) with adapter tensors from `adapter`. */
  forward(inputs: DenoiserInputs, adapter: (name: string) => tf.Tensor): tf.Tensor1D {
    const a = this.arch;
    const C = a.width;
    const B = inputs.timestep.length;
    const T = gridTokens(a);
    const L = a.promptLength;
    const image = imageKeys(a, inputs.imageTokens, B, this.refEmbed);
    const M = image.keys;
    const p = a.patch;
    const g = a.latentSize / p;
    const ch = a.latentChannels;
    const feat = ch * p * p;
    const w = (n: string) => this.w(n);

    // 1. Patchify `[B,ch,S,S]` → `[B·T, ch·p²]` (token gy·g+gx, feature c·p²+py·p+px), embed.
    const lat = tf.tensor(inputs.latent, [B * ch * g, p, g, p]);
    const rows = tf.reshape(
      tf.transpose(tf.reshape(tf.transpose(lat, [0, 2, 1, 3]), [B, ch, T, p * p]), [0, 2, 1, 3]),
      [B * T, feat],
    ) as tf.Tensor2D;
    let x: tf.Tensor = tf.add(
      tf.reshape(linear(rows, w("x_embed.weight"), w("x_embed.bias")), [B, T, C]),
      w("pos_embed"),
    );
    const ids = tf.tensor1d(Int32Array.from(inputs.promptIds), "int32");
    if (a.spatialPrompt) {
      // x[b,t] += Σ_l prompt_map[id_bl, t]·prompt_vec[id_bl].
      const map = tf.reshape(tf.gather(w("prompt_map"), ids), [B, L, T]);
      const vec = tf.reshape(tf.gather(w("prompt_vec"), ids), [B, L, C]);
      x = tf.add(x, tf.matMul(map, vec, true, false));
    }

    // 2. Timestep conditioning; the sinusoidal features are computed as the WGSL engine does, on the host.
    const temb = tf.tensor2d(timestepEmbedding(inputs.timestep, a.freqDim), [B, a.freqDim]);
    const t1 = linear(temb, w("t_fc1.weight"), w("t_fc1.bias"));
    const cAct = silu(linear(silu(t1) as tf.Tensor2D, w("t_fc2.weight"), w("t_fc2.bias"))) as tf.Tensor2D;

    // 3. Prompt context.
    const prompt = tf.reshape(
      tf.add(tf.reshape(tf.gather(w("prompt_embed.weight"), ids), [B, L, C]), w("prompt_pos")),
      [B * L, C],
    ) as tf.Tensor2D;
    const img = tf.tensor2d(image.tokens, [B * M, a.imageDim]);

    // 4. Blocks.
    const flat = (t: tf.Tensor) => tf.reshape(t, [B * T, C]) as tf.Tensor2D;
    for (let i = 0; i < a.depth; i++) {
      const q = (n: string) => w(`blocks.${i}.${n}`);
      const [sh1, sc1, g1, sh2, sc2, g2] = tf.split(linear(cAct, q("ada.weight"), q("ada.bias")), 6, 1);
      const h1 = flat(modulate(layerNorm(x, a.normEps), sh1, sc1));
      const [qs, ks, vs] = tf.split(linear(h1, q("qkv.weight"), q("qkv.bias")), 3, 1);
      const pr = linear(attention(qs, ks, vs, B, T, T, a.heads), q("proj.weight"), q("proj.bias"));
      const x1 = tf.add(x, tf.mul(tf.expandDims(g1, 1), tf.reshape(pr, [B, T, C])));
      // Decoupled cross-attention sharing one query: prompt + ip_scale · image tokens.
      const h2 = flat(layerNorm(x1, a.normEps, q("norm2.weight"), q("norm2.bias")));
      const qi = linear(h2, q("attn_ip.to_q.weight"));
      const aPrompt = attention(
        qi,
        linear(prompt, q("attn_ip.to_k.weight")),
        linear(prompt, q("attn_ip.to_v.weight")),
        B,
        T,
        L,
        a.heads,
      );
      const kIp = linear(img, adapter(`blocks.${i}.attn_ip.to_k_ip.weight`));
      const vIp = linear(img, adapter(`blocks.${i}.attn_ip.to_v_ip.weight`));
      const aIp = attention(qi, kIp, vIp, B, T, M, a.heads);
      const o = linear(
        tf.add(aPrompt, tf.mul(aIp, inputs.ipScale)) as tf.Tensor2D,
        q("attn_ip.to_out.weight"),
        q("attn_ip.to_out.bias"),
      );
      const x2 = tf.add(x1, tf.reshape(o, [B, T, C]));
      // Gated MLP.
      const h3 = flat(modulate(layerNorm(x2, a.normEps), sh2, sc2));
      const f1 = linear(h3, q("fc1.weight"), q("fc1.bias"));
      const f2 = linear(geluTanh(f1) as tf.Tensor2D, q("fc2.weight"), q("fc2.bias"));
      x = tf.add(x2, tf.mul(tf.expandDims(g2, 1), tf.reshape(f2, [B, T, C])));
    }

    // 5. Output and unpatchify `[B·T, ch·p²]` → `[B,ch,S,S]`.
    const [sh, sc] = tf.split(linear(cAct, w("ada_out.weight"), w("ada_out.bias")), 2, 1);
    const y = linear(flat(modulate(layerNorm(x, a.normEps), sh, sc)), w("out.weight"), w("out.bias"));
    const perChannel = tf.reshape(tf.transpose(tf.reshape(y, [B, T, ch, p * p]), [0, 2, 1, 3]), [B * ch * g, g, p, p]);
    return tf.reshape(tf.transpose(perChannel, [0, 2, 1, 3]), [-1]) as tf.Tensor1D;
  }

  /** The objective of core/engine/trainer.ts (CpuTrainer.compute) as a scalar tensor. */
  loss(batch: TrainingBatch, objective: Objective = MSE): tf.Scalar {
    const eps = this.forward(batch.inputs, (n) => this.adapter.get(n) as tf.Tensor);
    const target = tf.tensor1d(batch.target);
    const weight = batch.weight && tf.tensor1d(batch.weight);
    const weighted = (pred: tf.Tensor) => {
      const sq = tf.square(tf.sub(pred, target));
      return weight ? tf.mul(weight, sq) : sq;
    };
    if (objective.kind === "mse") return tf.mean(weighted(eps));
    const items = batch.inputs.timestep.length;
    if (items % 2 !== 0) throw new RangeError(`dpo: the batch must hold winners then losers, got ${items} items`);
    const perItem = (pred: tf.Tensor) => tf.mean(tf.reshape(weighted(pred), [items, -1]), 1);
    const ref = this.forward(batch.inputs, (n) => this.base.get(n) as tf.Tensor);
    // Policy minus reference error per item; d = Δ_winner − Δ_loser, L = mean softplus(β·d).
    const [dw, dl] = tf.split(tf.sub(perItem(eps), perItem(ref)), 2, 0);
    return tf.mean(tf.softplus(tf.mul(objective.beta, tf.sub(dw, dl))));
  }

  /** The loss and ∂L/∂ every adapter tensor, read back. */
  async lossAndGrads(
    batch: TrainingBatch,
    objective: Objective = MSE,
  ): Promise<{ loss: number; adapter: Map<string, F32> }> {
    const names = [...this.adapter.keys()];
    const vars = names.map((n) => this.adapter.get(n) as tf.Variable);
    const { value, grads } = tf.variableGrads(() => this.loss(batch, objective), vars);
    try {
      const data = await Promise.all(vars.map((v) => grads[v.name].data() as Promise<F32>));
      return { loss: (await value.data())[0], adapter: new Map(names.map((n, i) => [n, data[i]])) };
    } finally {
      value.dispose();
      tf.dispose(Object.values(grads));
    }
  }

  /**
   * One step as the engines take it: gradients, `min(1, maxNorm/(‖g‖ + 1e-6))` clipping over all of
   * them, then AdamW. Queued only; `readLoss` waits for it.
   */
  trainStep(batch: TrainingBatch, options: TrainOptions, objective: Objective = MSE): void {
    this.t += 1;
    const { lr, beta1, beta2, eps, weightDecay } = { ...ADAMW_DEFAULTS, ...options };
    const stepSize = lr / (1 - beta1 ** this.t);
    const bc2 = Math.sqrt(1 - beta2 ** this.t);
    const loss = tf.tidy(() => {
      const entries = [...this.adapter];
      const { value, grads } = tf.variableGrads(
        () => this.loss(batch, objective),
        entries.map(([, v]) => v),
      );
      let coef: tf.Tensor = tf.scalar(1);
      if (options.maxNorm) {
        // A chain of adds, not tf.addN: webgpu's AddN binds every input at once and exceeds the
        // 8-storage-buffer limit at depth 4 (8 adapter tensors), silently skipping the dispatch.
        const sq = entries.map(([, v]) => tf.sum(tf.square(grads[v.name]))).reduce((acc, t) => tf.add(acc, t));
        coef = tf.minimum(1, tf.div(options.maxNorm, tf.add(tf.sqrt(sq), 1e-6)));
      }
      for (const [name, p] of entries) {
        const gr = tf.mul(grads[p.name], coef);
        const s = this.moments.get(name) as { m: tf.Variable; v: tf.Variable };
        s.m.assign(tf.add(tf.mul(beta1, s.m), tf.mul(1 - beta1, gr)));
        s.v.assign(tf.add(tf.mul(beta2, s.v), tf.mul(1 - beta2, tf.square(gr))));
        const update = tf.div(tf.mul(stepSize, s.m), tf.add(tf.div(tf.sqrt(s.v), bc2), eps));
        p.assign(tf.sub(tf.mul(p, 1 - lr * weightDecay), update));
      }
      return value;
    });
    this.lastLoss?.dispose();
    this.lastLoss = loss;
  }

  /** Loss of the latest `trainStep` (waits for the step to finish). */
  async readLoss(): Promise<number> {
    return this.lastLoss ? (await this.lastLoss.data())[0] : Number.NaN;
  }

  async readAdapter(): Promise<Map<string, F32>> {
    const names = [...this.adapter.keys()];
    const data = await Promise.all(names.map((n) => this.adapter.get(n)?.data() as Promise<F32>));
    return new Map(names.map((n, i) => [n, data[i]]));
  }

  /** AdamW's step count and moments, as the engines' `readOptimizer` returns them. */
  async readOptimizer(): Promise<OptimizerState> {
    const read = async (k: "m" | "v") =>
      new Map(await Promise.all([...this.moments].map(async ([n, s]) => [n, (await s[k].data()) as F32] as const)));
    return { step: this.t, m: await read("m"), v: await read("v") };
  }

  dispose(): void {
    this.lastLoss?.dispose();
    tf.dispose([...this.frozen.values(), ...this.adapter.values()]);
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
  }
}

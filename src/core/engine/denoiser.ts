/**
 * The DiT denoiser of foundry/ARCHITECTURE.md on the CPU backend, forward and backward written
 * out layer by layer. The backward computes what adapter training needs: gradients with respect
 * to the adapter tensors (`to_k_ip`, `to_v_ip` of every block) and to the float inputs `latent`
 * and `image_tokens`. Frozen weights get no gradient, and paths that only reach frozen weights
 * or the timestep (adaLN modulation, prompt keys/values) are not differentiated.
 */
import { adapterNames, type DenoiserArch, gridTokens, type LoraConfig, type LoraTarget, projectionShape } from "./arch";
import {
  type AttentionShape,
  addGated,
  addGatedBackward,
  addInto,
  attention,
  attentionBackward,
  embed,
  type F32,
  gelu,
  geluBackward,
  type LayerNormSaved,
  layerNorm,
  layerNormBackward,
  linear,
  linearBackward,
  modulate,
  modulateBackward,
  type PatchShape,
  patchify,
  silu,
  timestepEmbedding,
  unpatchify,
} from "./ops";
import { type ImageKeys, imageKeys } from "./references";
import { copyOf, mapOf, tensor } from "./scratch";

export interface DenoiserInputs {
  /** `[B, channels, size, size]`. */
  latent: F32;
  /** `[B]`, integer steps as floats. */
  timestep: ArrayLike<number>;
  /** `[B, promptLength]`. */
  promptIds: ArrayLike<number>;
  /** `[B, references · imageTokens, imageDim]` (references ≤ `arch.maxReferences`). */
  imageTokens: F32;
  ipScale: number;
}

export interface DenoiserGrads {
  /** ∂L/∂ for every adapter tensor, by name. */
  adapter: Map<string, F32>;
  latent: F32;
  imageTokens: F32;
}

/**
 * Spatial prompt embedding `x[b,t] += Σ_l prompt_map[id_bl, t] · prompt_vec[id_bl]`. It adds a
 * constant per prompt, so the backward passes through it unchanged.
 */
function addSpatialPrompt(
  x: F32,
  ids: ArrayLike<number>,
  map: F32,
  vec: F32,
  B: number,
  L: number,
  T: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const id = ids[b * L + l];
      for (let t = 0; t < T; t++) {
        const m = map[id * T + t];
        const row = (b * T + t) * C;
        for (let c = 0; c < C; c++) x[row + c] += m * vec[id * C + c];
      }
    }
  }
}

/** `[B, 6C]` → six `[B, C]` chunks (PyTorch `chunk(…, dim=-1)`). */
function chunks(x: F32, batch: number, c: number, count: number): F32[] {
  return Array.from({ length: count }, (_, j) => {
    const out = tensor(batch * c);
    for (let b = 0; b < batch; b++) out.set(x.subarray(b * count * c + j * c, b * count * c + (j + 1) * c), b * c);
    return out;
  });
}

/** Inverse of `chunks` for `[rows, count·c]` tensors. */
function concat(parts: F32[], rows: number, c: number): F32 {
  const n = parts.length;
  const out = tensor(rows * n * c);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) out.set(parts[j].subarray(r * c, r * c + c), r * n * c + j * c);
  }
  return out;
}

interface BlockTape {
  /** x·Aᵀ of each LoRA projection, for the backward. */
  lora: Map<string, F32>;
  x0: F32;
  mod: F32[]; // sh1, sc1, g1, sh2, sc2, g2
  ln1: LayerNormSaved;
  n1: F32;
  h1: F32;
  q: F32;
  k: F32;
  v: F32;
  selfProbs: F32;
  att: F32;
  pr: F32;
  x1: F32;
  ln2: LayerNormSaved;
  h2: F32;
  qi: F32;
  kp: F32;
  vp: F32;
  promptProbs: F32;
  kIp: F32;
  vIp: F32;
  ipProbs: F32;
  a: F32;
  x2: F32;
  ln3: LayerNormSaved;
  n3: F32;
  h3: F32;
  f1: F32;
  g: F32;
  f2: F32;
}

/** Everything the backward needs from one forward. */
export interface DenoiserTape {
  inputs: DenoiserInputs;
  /** The image attention's keys' input: the tokens with the reference embedding. */
  image: ImageKeys;
  batch: number;
  patched: F32;
  blocks: BlockTape[];
  xOut: F32;
  lnOut: LayerNormSaved;
  nOut: F32;
  hOut: F32;
  modOut: F32[]; // sh, sc
}

export class CpuDenoiser {
  /** Every trainable tensor by name: the `to_k_ip`/`to_v_ip` adapters, then any LoRA tensors. */
  readonly adapter: Map<string, F32>;

  /**
   * `weights`: every parameter by PyTorch name (the pack's denoiser.safetensors). The adapter
   * tensors start as copies of the weights of the same names; training updates them in place.
   * `lora`: optional LoRA tensors (see `initLora`) with their rank and alpha.
   */
  constructor(
    readonly arch: DenoiserArch,
    private readonly weights: ReadonlyMap<string, F32>,
    readonly lora?: { config: LoraConfig; tensors: ReadonlyMap<string, F32> },
  ) {
    this.adapter = new Map(adapterNames(arch).map((n) => [n, this.w(n).slice()]));
    for (const [n, t] of lora?.tensors ?? []) this.adapter.set(n, t.slice());
  }

  /** `y = x·Wᵀ + b` of block projection `name`, plus its LoRA term when it has one (x·Aᵀ saved in `saved`). */
  private project(i: number, name: string, x: F32, rows: number, saved: Map<string, F32>, bias = true): F32 {
    const [outF, inF] = this.projShape(name);
    const p = `blocks.${i}.${name}`;
    const y = linear(x, this.w(`${p}.weight`), bias ? this.w(`${p}.bias`) : null, rows, inF, outF);
    const A = this.adapter.get(`${p}.lora_A`);
    if (A && this.lora) {
      const r = this.lora.config.rank;
      const xa = linear(x, A, null, rows, inF, r);
      saved.set(name, xa);
      addInto(y, linear(xa, this.w(`${p}.lora_B`), null, rows, r, outF), this.lora.config.alpha / r);
    }
    return y;
  }

  /**
   * Backward of `project`: dx += dy·W; with LoRA (s = alpha/rank, u = s·dy):
   * dB += uᵀ·(x·Aᵀ), dA += (u·B)ᵀ·x, dx += (u·B)·A.
   */
  private projectBackward(
    i: number,
    name: string,
    dy: F32,
    x: F32,
    rows: number,
    saved: Map<string, F32>,
    dx: F32,
    grads: Map<string, F32>,
  ): void {
    const [outF, inF] = this.projShape(name);
    const p = `blocks.${i}.${name}`;
    linearBackward(dy, x, this.w(`${p}.weight`), rows, inF, outF, { dx });
    const xa = saved.get(name);
    if (!xa || !this.lora) return;
    const { rank: r, alpha } = this.lora.config;
    const u = mapOf(dy, (v) => (v * alpha) / r);
    const dxa = tensor(rows * r);
    linearBackward(u, xa, this.w(`${p}.lora_B`), rows, r, outF, { dx: dxa, dw: grads.get(`${p}.lora_B`) });
    linearBackward(dxa, x, this.w(`${p}.lora_A`), rows, inF, r, { dx, dw: grads.get(`${p}.lora_A`) });
  }

  private projShape(name: string): [number, number] {
    return projectionShape(this.arch, name as LoraTarget);
  }

  private w(name: string): F32 {
    const t = this.adapter?.get(name) ?? this.weights.get(name);
    if (!t) throw new Error(`denoiser weights: missing tensor ${name}`);
    return t;
  }

  private patchShape(batch: number): PatchShape {
    const a = this.arch;
    return { batch, channels: a.latentChannels, size: a.latentSize, patch: a.patch };
  }

  forward(inputs: DenoiserInputs): { eps: F32; tape: DenoiserTape } {
    const a = this.arch;
    const C = a.width;
    const B = inputs.timestep.length;
    const T = gridTokens(a);
    const rows = B * T;
    const feat = a.latentChannels * a.patch * a.patch;
    const w = (n: string) => this.w(n);

    // 1. Patchify and embed.
    const patched = patchify(inputs.latent, this.patchShape(B));
    let x = linear(patched, w("x_embed.weight"), w("x_embed.bias"), rows, feat, C);
    const pos = w("pos_embed");
    for (let i = 0; i < x.length; i++) x[i] += pos[i % (T * C)];
    if (a.spatialPrompt)
      addSpatialPrompt(x, inputs.promptIds, w("prompt_map"), w("prompt_vec"), B, a.promptLength, T, C);

    // 2. Timestep conditioning c = silu(t_fc2(silu(t_fc1(e(t))))).
    const temb = timestepEmbedding(inputs.timestep, a.freqDim);
    const t1 = linear(temb, w("t_fc1.weight"), w("t_fc1.bias"), B, a.freqDim, C);
    const cAct = silu(linear(silu(t1), w("t_fc2.weight"), w("t_fc2.bias"), B, C, C));

    // 3. Prompt context P = prompt_embed[ids] + prompt_pos.
    const L = a.promptLength;
    const prompt = embed(inputs.promptIds, w("prompt_embed.weight"), C);
    const ppos = w("prompt_pos");
    for (let i = 0; i < prompt.length; i++) prompt[i] += ppos[i % (L * C)];

    const selfShape: AttentionShape = { batch: B, n: T, m: T, heads: a.heads, d: C / a.heads };
    const promptShape: AttentionShape = { ...selfShape, m: L };
    const img = imageKeys(a, inputs.imageTokens, B, a.maxReferences > 1 ? w("ref_embed") : undefined);
    const ipShape: AttentionShape = { ...selfShape, m: img.keys };
    const imgRows = B * img.keys;

    // 4. Blocks.
    const blocks: BlockTape[] = [];
    for (let i = 0; i < a.depth; i++) {
      const p = (n: string) => w(`blocks.${i}.${n}`);
      const lora = new Map<string, F32>();
      const x0 = x;
      const mod = chunks(linear(cAct, p("ada.weight"), p("ada.bias"), B, C, 6 * C), B, C, 6);
      const [sh1, sc1, g1, sh2, sc2, g2] = mod;
      // Self-attention on the modulated plain LN.
      const { y: n1, saved: ln1 } = layerNorm(x0, rows, C, a.normEps);
      const h1 = modulate(n1, sh1, sc1, B, T, C);
      const [q, k, v] = chunks(this.project(i, "qkv", h1, rows, lora), rows, C, 3);
      const { out: att, probs: selfProbs } = attention(q, k, v, selfShape);
      const pr = this.project(i, "proj", att, rows, lora);
      const x1 = copyOf(x0);
      addGated(x1, g1, pr, B, T, C);
      // Decoupled cross-attention: prompt tokens + ip_scale · image tokens, shared query.
      const { y: h2, saved: ln2 } = layerNorm(x1, rows, C, a.normEps, p("norm2.weight"), p("norm2.bias"));
      const qi = this.project(i, "attn_ip.to_q", h2, rows, lora, false);
      const kp = linear(prompt, p("attn_ip.to_k.weight"), null, B * L, C, C);
      const vp = linear(prompt, p("attn_ip.to_v.weight"), null, B * L, C, C);
      const { out: aPrompt, probs: promptProbs } = attention(qi, kp, vp, promptShape);
      const kIp = linear(img.tokens, p("attn_ip.to_k_ip.weight"), null, imgRows, a.imageDim, C);
      const vIp = linear(img.tokens, p("attn_ip.to_v_ip.weight"), null, imgRows, a.imageDim, C);
      const { out: aIp, probs: ipProbs } = attention(qi, kIp, vIp, ipShape);
      const att2 = mapOf(aPrompt, (val, j) => val + inputs.ipScale * aIp[j]);
      const o = this.project(i, "attn_ip.to_out", att2, rows, lora);
      const x2 = mapOf(x1, (val, j) => val + o[j]);
      // Gated MLP on the modulated plain LN.
      const { y: n3, saved: ln3 } = layerNorm(x2, rows, C, a.normEps);
      const h3 = modulate(n3, sh2, sc2, B, T, C);
      const f1 = this.project(i, "fc1", h3, rows, lora);
      const g = gelu(f1);
      const f2 = this.project(i, "fc2", g, rows, lora);
      x = copyOf(x2);
      addGated(x, g2, f2, B, T, C);
      blocks.push({
        lora,
        x0,
        mod,
        ln1,
        n1,
        h1,
        q,
        k,
        v,
        selfProbs,
        att,
        pr,
        x1,
        ln2,
        h2,
        qi,
        kp,
        vp,
        promptProbs,
        kIp,
        vIp,
        ipProbs,
        a: att2,
        x2,
        ln3,
        n3,
        h3,
        f1,
        g,
        f2,
      });
    }

    // 5. Output: modulated plain LN, linear, unpatchify.
    const modOut = chunks(linear(cAct, w("ada_out.weight"), w("ada_out.bias"), B, C, 2 * C), B, C, 2);
    const { y: nOut, saved: lnOut } = layerNorm(x, rows, C, a.normEps);
    const hOut = modulate(nOut, modOut[0], modOut[1], B, T, C);
    const y = linear(hOut, w("out.weight"), w("out.bias"), rows, C, feat);
    const eps = unpatchify(y, this.patchShape(B));
    return { eps, tape: { inputs, image: img, batch: B, patched, blocks, xOut: x, lnOut, nOut, hOut, modOut } };
  }

  /** Gradients of a loss with upstream gradient `dEps` (∂L/∂ε̂, shaped like the latent). */
  backward(tape: DenoiserTape, dEps: F32): DenoiserGrads {
    const a = this.arch;
    const C = a.width;
    const B = tape.batch;
    const T = gridTokens(a);
    const rows = B * T;
    const feat = a.latentChannels * a.patch * a.patch;
    const hidden = a.mlpRatio * C;
    const { keys, tokens: img } = tape.image;
    const imgRows = B * keys;
    const w = (n: string) => this.w(n);
    const selfShape: AttentionShape = { batch: B, n: T, m: T, heads: a.heads, d: C / a.heads };
    const promptShape: AttentionShape = { ...selfShape, m: a.promptLength };
    const ipShape: AttentionShape = { ...selfShape, m: keys };
    const adapter = new Map([...this.adapter].map(([n, t]) => [n, tensor(t.length)]));
    const dImg = tensor(img.length);

    // 5. Output: dy = patchify(dε); dh = dy·W_out; dn = dh·(1 + sc); dx = LN′(dn).
    const dy = patchify(dEps, this.patchShape(B));
    const dhOut = tensor(rows * C);
    linearBackward(dy, tape.hOut, w("out.weight"), rows, C, feat, { dx: dhOut });
    const dnOut = tensor(rows * C);
    modulateBackward(dhOut, tape.nOut, tape.modOut[1], B, T, C, { dx: dnOut });
    let dx = tensor(rows * C);
    layerNormBackward(dnOut, tape.xOut, tape.lnOut, rows, C, { dx });

    // 4. Blocks in reverse; dx is ∂L/∂(block output) and becomes ∂L/∂(block input).
    for (let i = a.depth - 1; i >= 0; i--) {
      const s = tape.blocks[i];
      const p = (n: string) => w(`blocks.${i}.${n}`);
      const [, sc1, g1, , sc2, g2] = s.mod;
      // x3 = x2 + g2·fc2(gelu(fc1(h3))), h3 = modulate(LN(x2)).
      const dx2 = copyOf(dx);
      const df2 = tensor(rows * C);
      addGatedBackward(dx, g2, s.f2, B, T, C, { dh: df2 });
      const dg = tensor(rows * hidden);
      this.projectBackward(i, "fc2", df2, s.g, rows, s.lora, dg, adapter);
      const df1 = tensor(rows * hidden);
      geluBackward(dg, s.f1, df1);
      const dh3 = tensor(rows * C);
      this.projectBackward(i, "fc1", df1, s.h3, rows, s.lora, dh3, adapter);
      const dn3 = tensor(rows * C);
      modulateBackward(dh3, s.n3, sc2, B, T, C, { dx: dn3 });
      layerNormBackward(dn3, s.x2, s.ln3, rows, C, { dx: dx2 });
      // x2 = x1 + to_out(aPrompt + s·aIp), both attentions sharing qi = to_q(LNₐ(x1)).
      const dx1 = copyOf(dx2);
      const dAtt2 = tensor(rows * C);
      this.projectBackward(i, "attn_ip.to_out", dx2, s.a, rows, s.lora, dAtt2, adapter);
      const dqi = tensor(rows * C);
      attentionBackward(dAtt2, s.qi, s.kp, s.vp, s.promptProbs, promptShape, { dq: dqi });
      const dAip = mapOf(dAtt2, (v) => v * tape.inputs.ipScale);
      const dkIp = tensor(imgRows * C);
      const dvIp = tensor(imgRows * C);
      attentionBackward(dAip, s.qi, s.kIp, s.vIp, s.ipProbs, ipShape, { dq: dqi, dk: dkIp, dv: dvIp });
      const kName = `blocks.${i}.attn_ip.to_k_ip.weight`;
      const vName = `blocks.${i}.attn_ip.to_v_ip.weight`;
      linearBackward(dkIp, img, w(kName), imgRows, a.imageDim, C, { dx: dImg, dw: adapter.get(kName) });
      linearBackward(dvIp, img, w(vName), imgRows, a.imageDim, C, { dx: dImg, dw: adapter.get(vName) });
      const dh2 = tensor(rows * C);
      this.projectBackward(i, "attn_ip.to_q", dqi, s.h2, rows, s.lora, dh2, adapter);
      layerNormBackward(dh2, s.x1, s.ln2, rows, C, { dx: dx1 }, p("norm2.weight"));
      // x1 = x0 + g1·proj(Attn(q, k, v)), [q k v] = qkv(modulate(LN(x0))).
      const dx0 = copyOf(dx1);
      const dpr = tensor(rows * C);
      addGatedBackward(dx1, g1, s.pr, B, T, C, { dh: dpr });
      const dAtt = tensor(rows * C);
      this.projectBackward(i, "proj", dpr, s.att, rows, s.lora, dAtt, adapter);
      const [dq, dk, dv] = [tensor(rows * C), tensor(rows * C), tensor(rows * C)];
      attentionBackward(dAtt, s.q, s.k, s.v, s.selfProbs, selfShape, { dq, dk, dv });
      const dh1 = tensor(rows * C);
      this.projectBackward(i, "qkv", concat([dq, dk, dv], rows, C), s.h1, rows, s.lora, dh1, adapter);
      const dn1 = tensor(rows * C);
      modulateBackward(dh1, s.n1, sc1, B, T, C, { dx: dn1 });
      layerNormBackward(dn1, s.x0, s.ln1, rows, C, { dx: dx0 });
      dx = dx0;
    }

    // 1. x = x_embed(patchify(latent)) + pos: dlatent = unpatchify(dx·W_x).
    const dPatched = tensor(rows * feat);
    linearBackward(dx, tape.patched, w("x_embed.weight"), rows, feat, C, { dx: dPatched });
    return { adapter, latent: unpatchify(dPatched, this.patchShape(B)), imageTokens: dImg };
  }
}

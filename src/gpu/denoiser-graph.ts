/**
 * The DiT denoiser of foundry/ARCHITECTURE.md as a recorded graph: forward and backward, layer by
 * layer the same as the CPU backend (core/engine/denoiser.ts), on the WGSL kernels. Parameters
 * come from `DenoiserParameters`; activations are batch temporaries, so a whole training step
 * records into one command batch and its scratch returns to the pool at submit.
 */
import { type DenoiserArch, gridTokens, type LoraTarget, projectionShape } from "../core/engine/arch.ts";
import type { DenoiserInputs } from "../core/engine/denoiser.ts";
import {
  type AttentionShape,
  type F32,
  type MatmulShape,
  type PatchShape,
  timestepEmbedding,
} from "../core/engine/ops.ts";
import { imageKeys } from "../core/engine/references.ts";
import type { Binding, CommandBatch } from "./batch.ts";
import type { GpuContext } from "./context.ts";
import type { DenoiserParameters } from "./denoiser-parameters.ts";
import { type ActivationKernels, activationKernels } from "./kernels/activation.ts";
import { type AdaLnKernels, adaLnKernels } from "./kernels/adaln.ts";
import { type AttentionKernels, attentionKernels } from "./kernels/attention.ts";
import { type LayerNormKernels, layerNormKernels } from "./kernels/layernorm.ts";
import { type MatmulKernel, matmulKernel } from "./kernels/matmul.ts";
import { type TensorKernels, tensorKernels } from "./kernels/tensor.ts";
import { storageUsage } from "./transfer.ts";

export interface GraphKernels {
  mm: MatmulKernel;
  ln: LayerNormKernels;
  act: ActivationKernels;
  attn: AttentionKernels;
  ada: AdaLnKernels;
  tensor: TensorKernels;
}

export async function graphKernels(ctx: GpuContext): Promise<GraphKernels> {
  const [mm, ln, act, attn, ada, tensor] = await Promise.all([
    matmulKernel(ctx),
    layerNormKernels(ctx),
    activationKernels(ctx),
    attentionKernels(ctx),
    adaLnKernels(ctx),
    tensorKernels(ctx),
  ]);
  return { mm, ln, act, attn, ada, tensor };
}

/** Device copies of one batch of inputs. */
export interface InputBuffers {
  batch: number;
  latent: GPUBuffer;
  temb: GPUBuffer;
  ids: GPUBuffer;
  /** The image attention's keys' input, the reference embedding added (core/engine/references.ts). */
  img: GPUBuffer;
  /** Image tokens per item (references × the arch's imageTokens). */
  keys: number;
  ipScale: number;
}

interface BlockTape {
  /** x·Aᵀ of each LoRA projection. */
  lora: Map<string, GPUBuffer>;
  x0: GPUBuffer;
  mod: GPUBuffer;
  st1: GPUBuffer;
  n1: GPUBuffer;
  h1: GPUBuffer;
  qkv: GPUBuffer;
  selfP: GPUBuffer;
  att: GPUBuffer;
  pr: GPUBuffer;
  x1: GPUBuffer;
  st2: GPUBuffer;
  h2: GPUBuffer;
  qi: GPUBuffer;
  kp: GPUBuffer;
  vp: GPUBuffer;
  promptP: GPUBuffer;
  kIp: GPUBuffer;
  vIp: GPUBuffer;
  ipP: GPUBuffer;
  a: GPUBuffer;
  x2: GPUBuffer;
  st3: GPUBuffer;
  n3: GPUBuffer;
  h3: GPUBuffer;
  f1: GPUBuffer;
  g: GPUBuffer;
  f2: GPUBuffer;
}

export interface Tape {
  inputs: InputBuffers;
  patched: GPUBuffer;
  blocks: BlockTape[];
  xOut: GPUBuffer;
  stOut: GPUBuffer;
  nOut: GPUBuffer;
  hOut: GPUBuffer;
  modOut: GPUBuffer;
  eps: GPUBuffer;
}

export class DenoiserGraph {
  constructor(
    private readonly arch: DenoiserArch,
    private readonly params: DenoiserParameters,
    private readonly k: GraphKernels,
    /** `ref_embed` of a denoiser grown for several references, added to the tokens on upload. */
    private readonly refEmbed?: F32,
  ) {}

  /** Device copies of a batch's inputs, valid until the batch is submitted. */
  uploadInputs(b: CommandBatch, inputs: DenoiserInputs): InputBuffers {
    const usage = storageUsage();
    const batch = inputs.timestep.length;
    const image = imageKeys(this.arch, inputs.imageTokens, batch, this.refEmbed);
    return {
      batch,
      latent: b.upload(inputs.latent, usage),
      temb: b.upload(timestepEmbedding(inputs.timestep, this.arch.freqDim), usage),
      ids: b.upload(Uint32Array.from(inputs.promptIds), usage),
      img: b.upload(image.tokens, usage),
      keys: image.keys,
      ipScale: inputs.ipScale,
    };
  }

  /** Records the forward with the trainable tensors of flat buffer `adapter`; the tape keeps what the backward needs. */
  forward(b: CommandBatch, x: InputBuffers, adapter: GPUBuffer): Tape {
    const a = this.arch;
    const { ln, act, attn, ada, tensor } = this.k;
    const { C, B, T, rows, L, feat, hidden, imgRows, patchShape, self, cross, ip, lnShape } = this.shapes(
      x.batch,
      x.keys,
    );
    const t = (floats: number) => b.temp(floats * 4, storageUsage());
    const w = (n: string) => this.params.weight(n);
    const adaShape = (stride: number) => ({ batch: B, tokens: T, c: C, stride });

    // 1. x = x_embed(patchify(latent)) + pos_embed.
    const patched = t(rows * feat);
    tensor.patchify(b, patchShape, x.latent, patched);
    let h = t(rows * C);
    this.linear(b, patched, w("x_embed.weight"), w("x_embed.bias"), rows, feat, C, h);
    tensor.addBroadcast(b, rows * C, w("pos_embed"), T * C, h, { accumulate: true });
    if (a.spatialPrompt) {
      // x[b] += prompt_map[ids_b]ᵀ·prompt_vec[ids_b]: a [T, L]·[L, C] product per item.
      const [maps, vecs, spatial] = [t(B * L * T), t(B * L * C), t(rows * C)];
      tensor.gather(b, B * L, a.promptVocab, T, x.ids, w("prompt_map"), maps);
      tensor.gather(b, B * L, a.promptVocab, C, x.ids, w("prompt_vec"), vecs);
      this.k.mm(b, { batch: B, m: T, n: C, k: L, transA: true }, { a: maps, b: vecs, c: spatial });
      tensor.addBroadcast(b, rows * C, spatial, rows * C, h, { accumulate: true });
    }
    // 2. c = silu(t_fc2(silu(t_fc1(e(t))))).
    const [t1, t1Act, t2, cond] = [t(B * C), t(B * C), t(B * C), t(B * C)];
    this.linear(b, x.temb, w("t_fc1.weight"), w("t_fc1.bias"), B, a.freqDim, C, t1);
    act.forward(b, "silu", B * C, t1, t1Act);
    this.linear(b, t1Act, w("t_fc2.weight"), w("t_fc2.bias"), B, C, C, t2);
    act.forward(b, "silu", B * C, t2, cond);
    // 3. P = prompt_embed[ids] + prompt_pos.
    const prompt = t(B * L * C);
    tensor.gather(b, B * L, a.promptVocab, C, x.ids, w("prompt_embed.weight"), prompt);
    tensor.addBroadcast(b, B * L * C, w("prompt_pos"), L * C, prompt, { accumulate: true });

    // 4. Blocks.
    const blocks: BlockTape[] = [];
    for (let i = 0; i < a.depth; i++) {
      const p = (n: string) => w(`blocks.${i}.${n}`);
      const s = {
        lora: new Map<string, GPUBuffer>(),
        x0: h,
        mod: t(B * 6 * C),
        st1: t(2 * rows),
        n1: t(rows * C),
        h1: t(rows * C),
        qkv: t(rows * 3 * C),
        selfP: t(B * a.heads * T * T),
        att: t(rows * C),
        pr: t(rows * C),
        x1: t(rows * C),
        st2: t(2 * rows),
        h2: t(rows * C),
        qi: t(rows * C),
        kp: t(B * L * C),
        vp: t(B * L * C),
        promptP: t(B * a.heads * T * L),
        kIp: t(imgRows * C),
        vIp: t(imgRows * C),
        ipP: t(B * a.heads * T * x.keys),
        a: t(rows * C),
        x2: t(rows * C),
        st3: t(2 * rows),
        n3: t(rows * C),
        h3: t(rows * C),
        f1: t(rows * hidden),
        g: t(rows * hidden),
        f2: t(rows * C),
      };
      // sh1, sc1, g1, sh2, sc2, g2 = split₆(ada(c)): column blocks 0…5 of s.mod.
      this.linear(b, cond, p("ada.weight"), p("ada.bias"), B, C, 6 * C, s.mod);
      // x1 = x0 + g1·proj(Attn(q, k, v)), [q k v] = qkv(LN(x0)·(1 + sc1) + sh1).
      ln.forward(b, lnShape, s.x0, s.n1, s.st1);
      ada.modulate(b, adaShape(6 * C), s.n1, s.mod, { shift: 0, scale: C }, s.h1);
      this.project(b, i, "qkv", s.h1, rows, s.qkv, adapter, s.lora);
      const qkvOp = (offset: number) => ({ buf: s.qkv, stride: 3 * C, offset });
      attn.forward(b, self, { q: qkvOp(0), k: qkvOp(C), v: qkvOp(2 * C) }, s.selfP, s.att);
      this.project(b, i, "proj", s.att, rows, s.pr, adapter, s.lora);
      b.copy(s.x0, 0, s.x1, 0, rows * C * 4);
      ada.gateAdd(b, adaShape(6 * C), s.x1, s.mod, 2 * C, s.pr);
      // x2 = x1 + to_out(Attn(qi, to_k P, to_v P) + ip_scale·Attn(qi, img·Wₖᵢₚᵀ, img·Wᵥᵢₚᵀ)), qi = to_q(LNₐ(x1)).
      ln.forward(b, lnShape, s.x1, s.h2, s.st2, { gamma: p("norm2.weight"), beta: p("norm2.bias") });
      this.project(b, i, "attn_ip.to_q", s.h2, rows, s.qi, adapter, s.lora, false);
      this.linear(b, prompt, p("attn_ip.to_k.weight"), null, B * L, C, C, s.kp);
      this.linear(b, prompt, p("attn_ip.to_v.weight"), null, B * L, C, C, s.vp);
      attn.forward(b, cross, { q: { buf: s.qi }, k: { buf: s.kp }, v: { buf: s.vp } }, s.promptP, s.a);
      const kName = `blocks.${i}.attn_ip.to_k_ip.weight`;
      const vName = `blocks.${i}.attn_ip.to_v_ip.weight`;
      this.linear(b, x.img, this.params.view(adapter, kName), null, imgRows, a.imageDim, C, s.kIp);
      this.linear(b, x.img, this.params.view(adapter, vName), null, imgRows, a.imageDim, C, s.vIp);
      attn.forward(b, ip, { q: { buf: s.qi }, k: { buf: s.kIp }, v: { buf: s.vIp } }, s.ipP, s.a, {
        alpha: x.ipScale,
        accumulate: true,
      });
      b.copy(s.x1, 0, s.x2, 0, rows * C * 4);
      const o = t(rows * C);
      this.project(b, i, "attn_ip.to_out", s.a, rows, o, adapter, s.lora);
      tensor.addBroadcast(b, rows * C, o, rows * C, s.x2, { accumulate: true });
      // x3 = x2 + g2·fc2(gelu(fc1(LN(x2)·(1 + sc2) + sh2))).
      ln.forward(b, lnShape, s.x2, s.n3, s.st3);
      ada.modulate(b, adaShape(6 * C), s.n3, s.mod, { shift: 3 * C, scale: 4 * C }, s.h3);
      this.project(b, i, "fc1", s.h3, rows, s.f1, adapter, s.lora);
      act.forward(b, "gelu", rows * hidden, s.f1, s.g);
      this.project(b, i, "fc2", s.g, rows, s.f2, adapter, s.lora);
      h = t(rows * C);
      b.copy(s.x2, 0, h, 0, rows * C * 4);
      ada.gateAdd(b, adaShape(6 * C), h, s.mod, 5 * C, s.f2);
      blocks.push(s);
    }

    // 5. ε = unpatchify(out(LN(x)·(1 + sc) + sh)), sh, sc = split₂(ada_out(c)).
    const modOut = t(B * 2 * C);
    this.linear(b, cond, w("ada_out.weight"), w("ada_out.bias"), B, C, 2 * C, modOut);
    const [stOut, nOut, hOut, y, epsOut] = [t(2 * rows), t(rows * C), t(rows * C), t(rows * feat), t(rows * feat)];
    ln.forward(b, lnShape, h, nOut, stOut);
    ada.modulate(b, adaShape(2 * C), nOut, modOut, { shift: 0, scale: C }, hOut);
    this.linear(b, hOut, w("out.weight"), w("out.bias"), rows, C, feat, y);
    tensor.unpatchify(b, patchShape, y, epsOut);
    return { inputs: x, patched, blocks, xOut: h, stOut, nOut, hOut, modOut, eps: epsOut };
  }

  /**
   * Records the backward of `forward` for upstream gradient dEps: adapter gradients into
   * `adapterGrad` (flat layout), and gradients of the latent and image tokens. Mirrors
   * CpuDenoiser.backward.
   */
  backward(
    b: CommandBatch,
    tape: Tape,
    dEps: GPUBuffer,
    adapter: GPUBuffer,
    adapterGrad: GPUBuffer,
  ): { dLatent: GPUBuffer; dImg: GPUBuffer } {
    const a = this.arch;
    const { ln, act, attn, ada, tensor } = this.k;
    const { C, B, T, rows, feat, hidden, imgRows, patchShape, self, cross, ip, lnShape } = this.shapes(
      tape.inputs.batch,
      tape.inputs.keys,
    );
    const t = (floats: number) => b.temp(floats * 4, storageUsage());
    const w = (n: string) => this.params.weight(n);
    const img = tape.inputs.img;
    const ada6 = { batch: B, tokens: T, c: C, stride: 6 * C };
    const flat = { adapter, grad: adapterGrad };

    // 5. dy = patchify(dε); dh = dy·W_out; dn = dh·(1 + sc); dx = LN′(dn).
    const dy = t(rows * feat);
    tensor.patchify(b, patchShape, dEps, dy);
    const dhOut = t(rows * C);
    this.linearDx(b, dy, w("out.weight"), rows, C, feat, dhOut);
    const dnOut = t(rows * C);
    ada.modulateBack(b, { ...ada6, stride: 2 * C }, dhOut, tape.modOut, C, dnOut);
    let dx = t(rows * C);
    ln.backward(b, lnShape, { dy: dnOut, x: tape.xOut, stats: tape.stOut }, dx);
    const dImg = t(imgRows * a.imageDim);
    b.clear(dImg, imgRows * a.imageDim * 4);
    const dImgPart = t(imgRows * a.imageDim);

    // 4. Blocks in reverse; dx is ∂L/∂(block output) and becomes ∂L/∂(block input).
    for (let i = a.depth - 1; i >= 0; i--) {
      const s = tape.blocks[i];
      const p = (n: string) => w(`blocks.${i}.${n}`);
      // x3 = x2 + g2·fc2(gelu(fc1(h3))).
      const dx2 = t(rows * C);
      b.copy(dx, 0, dx2, 0, rows * C * 4);
      const df2 = t(rows * C);
      ada.gateBack(b, ada6, dx, s.mod, 5 * C, df2);
      const dg = t(rows * hidden);
      this.projectBackward(b, i, "fc2", df2, s.g, rows, dg, flat, s.lora);
      const df1 = t(rows * hidden);
      act.backward(b, "gelu", rows * hidden, dg, s.f1, df1);
      const dh3 = t(rows * C);
      this.projectBackward(b, i, "fc1", df1, s.h3, rows, dh3, flat, s.lora);
      const dn3 = t(rows * C);
      ada.modulateBack(b, ada6, dh3, s.mod, 4 * C, dn3);
      ln.backward(b, lnShape, { dy: dn3, x: s.x2, stats: s.st3 }, dx2, true);
      // x2 = x1 + to_out(aPrompt + s·aIp), shared qi = to_q(LNₐ(x1)).
      const dx1 = t(rows * C);
      b.copy(dx2, 0, dx1, 0, rows * C * 4);
      const dAtt2 = t(rows * C);
      this.projectBackward(b, i, "attn_ip.to_out", dx2, s.a, rows, dAtt2, flat, s.lora);
      const dqi = t(rows * C);
      const q = { buf: s.qi };
      attn.backward(
        b,
        cross,
        { q, k: { buf: s.kp }, v: { buf: s.vp }, probs: s.promptP, dout: dAtt2 },
        { dq: { buf: dqi } },
      );
      const [dkIp, dvIp] = [t(imgRows * C), t(imgRows * C)];
      attn.backward(
        b,
        ip,
        { q, k: { buf: s.kIp }, v: { buf: s.vIp }, probs: s.ipP, dout: dAtt2 },
        { dq: { buf: dqi, accumulate: true }, dk: { buf: dkIp }, dv: { buf: dvIp } },
        tape.inputs.ipScale,
      );
      for (const [name, d] of [
        [`blocks.${i}.attn_ip.to_k_ip.weight`, dkIp],
        [`blocks.${i}.attn_ip.to_v_ip.weight`, dvIp],
      ] as const) {
        // dW = dᵀ·img; d_img += d·W.
        const shape = { batch: 1, m: C, n: a.imageDim, k: imgRows, transA: true };
        this.k.mm(b, shape, { a: d, b: img, c: this.params.view(adapterGrad, name) });
        this.linearDx(b, d, this.params.view(adapter, name), imgRows, a.imageDim, C, dImgPart);
        tensor.addBroadcast(b, imgRows * a.imageDim, dImgPart, imgRows * a.imageDim, dImg, { accumulate: true });
      }
      const dh2 = t(rows * C);
      this.projectBackward(b, i, "attn_ip.to_q", dqi, s.h2, rows, dh2, flat, s.lora);
      ln.backward(b, lnShape, { dy: dh2, x: s.x1, stats: s.st2, gamma: p("norm2.weight") }, dx1, true);
      // x1 = x0 + g1·proj(Attn(q, k, v)), [q k v] = qkv(modulate(LN(x0))).
      const dx0 = t(rows * C);
      b.copy(dx1, 0, dx0, 0, rows * C * 4);
      const dpr = t(rows * C);
      ada.gateBack(b, ada6, dx1, s.mod, 2 * C, dpr);
      const dAtt = t(rows * C);
      this.projectBackward(b, i, "proj", dpr, s.att, rows, dAtt, flat, s.lora);
      const dqkv = t(rows * 3 * C);
      const op = (buf: GPUBuffer, offset: number) => ({ buf, stride: 3 * C, offset });
      attn.backward(
        b,
        self,
        { q: op(s.qkv, 0), k: op(s.qkv, C), v: op(s.qkv, 2 * C), probs: s.selfP, dout: dAtt },
        { dq: { buf: dqkv }, dk: { buf: dqkv }, dv: { buf: dqkv } },
      );
      const dh1 = t(rows * C);
      this.projectBackward(b, i, "qkv", dqkv, s.h1, rows, dh1, flat, s.lora);
      const dn1 = t(rows * C);
      ada.modulateBack(b, ada6, dh1, s.mod, C, dn1);
      ln.backward(b, lnShape, { dy: dn1, x: s.x0, stats: s.st1 }, dx0, true);
      dx = dx0;
    }

    // 1. dlatent = unpatchify(dx·W_x).
    const dPatched = t(rows * feat);
    this.linearDx(b, dx, w("x_embed.weight"), rows, feat, C, dPatched);
    const dLatent = t(rows * feat);
    tensor.unpatchify(b, patchShape, dPatched, dLatent);
    return { dLatent, dImg };
  }

  /** `y = x·Wᵀ + b` of block projection `name`, plus `(alpha/rank)·(x·Aᵀ)·Bᵀ` when it has LoRA (x·Aᵀ kept in `saved`). */
  private project(
    b: CommandBatch,
    i: number,
    name: LoraTarget,
    x: GPUBuffer,
    rows: number,
    y: GPUBuffer,
    adapter: GPUBuffer,
    saved: Map<string, GPUBuffer>,
    bias = true,
  ): void {
    const [outF, inF] = projectionShape(this.arch, name);
    const p = `blocks.${i}.${name}`;
    this.linear(
      b,
      x,
      this.params.weight(`${p}.weight`),
      bias ? this.params.weight(`${p}.bias`) : null,
      rows,
      inF,
      outF,
      y,
    );
    if (!this.params.lora || !this.params.isTrainable(`${p}.lora_A`)) return;
    const { rank: r, alpha } = this.params.lora;
    const [xa, yl] = [b.temp(rows * r * 4, storageUsage()), b.temp(rows * outF * 4, storageUsage())];
    saved.set(name, xa);
    this.linear(b, x, this.params.view(adapter, `${p}.lora_A`), null, rows, inF, r, xa);
    this.linear(b, xa, this.params.view(adapter, `${p}.lora_B`), null, rows, r, outF, yl);
    this.k.tensor.addBroadcast(b, rows * outF, yl, rows * outF, y, { alpha: alpha / r, accumulate: true });
  }

  /**
   * Backward of `project`: dx = dy·W; with LoRA (s = alpha/rank, u = s·dy): dB = uᵀ·(x·Aᵀ),
   * dA = (u·B)ᵀ·x, dx += (u·B)·A.
   */
  private projectBackward(
    b: CommandBatch,
    i: number,
    name: LoraTarget,
    dy: GPUBuffer,
    x: GPUBuffer,
    rows: number,
    dx: GPUBuffer,
    flat: { adapter: GPUBuffer; grad: GPUBuffer },
    saved: Map<string, GPUBuffer>,
  ): void {
    const [outF, inF] = projectionShape(this.arch, name);
    const p = `blocks.${i}.${name}`;
    this.linearDx(b, dy, this.params.weight(`${p}.weight`), rows, inF, outF, dx);
    const xa = saved.get(name);
    if (!xa || !this.params.lora) return;
    const { rank: r, alpha } = this.params.lora;
    const t = (floats: number) => b.temp(floats * 4, storageUsage());
    const [u, dxa, dxl] = [t(rows * outF), t(rows * r), t(rows * inF)];
    this.k.tensor.addBroadcast(b, rows * outF, dy, rows * outF, u, { alpha: alpha / r });
    this.k.mm(
      b,
      { batch: 1, m: outF, n: r, k: rows, transA: true },
      { a: u, b: xa, c: this.params.view(flat.grad, `${p}.lora_B`) },
    );
    this.linearDx(b, u, this.params.view(flat.adapter, `${p}.lora_B`), rows, r, outF, dxa);
    this.k.mm(
      b,
      { batch: 1, m: r, n: inF, k: rows, transA: true },
      { a: dxa, b: x, c: this.params.view(flat.grad, `${p}.lora_A`) },
    );
    this.linearDx(b, dxa, this.params.view(flat.adapter, `${p}.lora_A`), rows, inF, r, dxl);
    this.k.tensor.addBroadcast(b, rows * inF, dxl, rows * inF, dx, { accumulate: true });
  }

  /** y = x·Wᵀ (+ b) over `rows` rows, W `[out, in]`. */
  private linear(
    b: CommandBatch,
    x: Binding,
    w: Binding,
    bias: Binding | null,
    rows: number,
    inF: number,
    outF: number,
    y: Binding,
  ): void {
    const shape: MatmulShape = { batch: 1, m: rows, n: outF, k: inF, transB: true, bias: !!bias };
    this.k.mm(b, shape, { a: x, b: w, c: y, bias: bias ?? undefined });
  }

  /** dx = dy·W (overwrites). */
  private linearDx(
    b: CommandBatch,
    dy: Binding,
    w: Binding,
    rows: number,
    inF: number,
    outF: number,
    dx: Binding,
  ): void {
    this.k.mm(b, { batch: 1, m: rows, n: inF, k: outF }, { a: dy, b: w, c: dx });
  }

  /** Sizes and kernel shapes for a batch, shared by the forward and backward passes. */
  private shapes(B: number, keys: number) {
    const a = this.arch;
    const C = a.width;
    const T = gridTokens(a);
    const rows = B * T;
    const L = a.promptLength;
    const self: AttentionShape = { batch: B, n: T, m: T, heads: a.heads, d: C / a.heads };
    return {
      C,
      B,
      T,
      rows,
      L,
      feat: a.latentChannels * a.patch * a.patch,
      hidden: a.mlpRatio * C,
      imgRows: B * keys,
      patchShape: { batch: B, channels: a.latentChannels, size: a.latentSize, patch: a.patch } as PatchShape,
      self,
      cross: { ...self, m: L } as AttentionShape,
      ip: { ...self, m: keys } as AttentionShape,
      lnShape: { rows, c: C, eps: a.normEps },
    };
  }
}

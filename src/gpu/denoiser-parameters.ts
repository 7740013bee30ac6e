/**
 * The denoiser's parameter memory, kept apart from the graph that reads it (as llm.c keeps its
 * parameters apart from its activations): frozen weights are uploaded once, one buffer each; the
 * trainable tensors (`to_k_ip`, `to_v_ip` of every block, and LoRA A/B of the chosen projections
 * when configured) live at aligned offsets in one flat buffer, so clipping + AdamW is one pass.
 * Their gradients, AdamW moments and the frozen base adapter (the DPO reference) share that
 * layout, so the reference model is just another flat buffer over the same frozen weights.
 */
import { adapterNames, type DenoiserArch, type LoraConfig } from "../core/engine/arch.ts";
import type { LoraTensors } from "../core/engine/trainer.ts";
import type { GpuContext } from "./context.ts";
import { FlatLayout } from "./flat-layout.ts";
import { upload } from "./transfer.ts";

type F32 = Float32Array;

export class DenoiserParameters {
  private readonly frozen = new Map<string, GPUBuffer>();
  /** Where each trainable tensor lies in the flat buffers. */
  private readonly layout: FlatLayout;
  /** Bytes of each flat buffer. */
  readonly bytes: number;
  /** Trainable values. */
  readonly adapter: GPUBuffer;
  /** The frozen starting values, for reference forwards. */
  readonly base: GPUBuffer;
  readonly grad: GPUBuffer;
  /** AdamW moments. */
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly lora: LoraConfig | undefined;

  constructor(
    private readonly ctx: GpuContext,
    arch: DenoiserArch,
    weights: ReadonlyMap<string, F32>,
    lora?: LoraTensors,
  ) {
    this.lora = lora?.config;
    const trainable = new Map(adapterNames(arch).map((n) => [n, need(weights, n)]));
    for (const [n, t] of lora?.tensors ?? []) trainable.set(n, t);
    this.layout = new FlatLayout(
      [...trainable].map(([n, t]) => [n, t.length]),
      ctx.device.limits.minStorageBufferOffsetAlignment,
    );
    this.bytes = this.layout.bytes;
    const flat = this.layout.pack(trainable, "denoiser trainable tensors");
    for (const [n, t] of weights) if (!this.layout.has(n)) this.frozen.set(n, upload(ctx, t));
    this.adapter = upload(ctx, flat);
    this.base = upload(ctx, flat);
    const zeros = new Float32Array(this.bytes / 4);
    [this.grad, this.m, this.v] = [upload(ctx, zeros), upload(ctx, zeros), upload(ctx, zeros)];
  }

  /** Frozen tensor `name`. */
  weight(name: string): GPUBuffer {
    const b = this.frozen.get(name);
    if (!b) throw new Error(`denoiser weights: missing tensor ${name}`);
    return b;
  }

  isTrainable(name: string): boolean {
    return this.layout.has(name);
  }

  /** Trainable tensor `name` inside a flat buffer (values, gradients, moments). */
  view(flat: GPUBuffer, name: string): GPUBufferBinding {
    return this.layout.view(flat, name);
  }

  /** Writes every trainable tensor of `tensors` into `flat`. */
  write(flat: GPUBuffer, tensors: ReadonlyMap<string, F32>): void {
    for (const n of this.layout.names()) {
      const t = need(tensors, n);
      this.ctx.device.queue.writeBuffer(flat, this.layout.offset(n), t.buffer, t.byteOffset, t.byteLength);
    }
  }

  /** The readback region of a whole flat buffer. */
  region(flat: GPUBuffer): { buffer: GPUBuffer; byteLength: number } {
    return { buffer: flat, byteLength: this.bytes };
  }

  /** A flat buffer's contents, read back, as tensors by name. */
  split(data: ArrayBuffer): Map<string, F32> {
    return this.layout.split(data);
  }

  /** Frees every buffer. */
  destroy(): void {
    for (const b of [...this.frozen.values(), this.adapter, this.base, this.grad, this.m, this.v])
      this.ctx.pool.release(b);
    this.frozen.clear();
  }
}

function need(weights: ReadonlyMap<string, F32>, name: string): F32 {
  const t = weights.get(name);
  if (!t) throw new Error(`denoiser weights: missing tensor ${name}`);
  return t;
}

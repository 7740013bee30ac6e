/**
 * Kernel declarations and their dispatch. A kernel module (name.wgsl + name.ts) declares its
 * `struct Params` (bound as `var<uniform> p`) as named fields and each entry point's storage
 * bindings by their WGSL variable names; `declareKernels` checks both against the WGSL when the
 * module is imported and looks up the `@binding` numbers. A dispatch then names its uniform
 * values and operands, and every operand comes with the number of values the kernel reads or
 * writes in it: pooled buffers are larger than their tensors, so a short operand would otherwise
 * read padding instead of failing.
 */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import common from "./common.wgsl?raw";

/** Must equal `WG` in common.wgsl. */
export const WG = 64;

type Scalar = "u32" | "f32";

export interface KernelModuleSpec {
  /** Names the module in errors, as its file does: "loss" for loss.wgsl. */
  name: string;
  /** The module's WGSL, without the common.wgsl prefix. */
  code: string;
  /** The fields of `struct Params`, in WGSL order. */
  params: Readonly<Record<string, Scalar>>;
  /** Each entry point's storage bindings. */
  entries: Readonly<Record<string, readonly string[]>>;
}

export interface KernelModule<M extends KernelModuleSpec> {
  readonly spec: M;
  /** `@binding` number of every variable of group 0, by name. */
  readonly slots: ReadonlyMap<string, number>;
}

/** Uniform values by field name; fields left out are 0. */
export type ParamValues<P extends KernelModuleSpec["params"]> = {
  readonly [F in keyof P]?: P[F] extends "u32" ? number | boolean : number;
};

/** A buffer (region) and the number of 4-byte values the kernel reads or writes in it. */
export type Operand = readonly [binding: Binding, values: number];

/** For a binding a specialization declares but never reads (override branches count as uses). */
export function unread(binding: Binding): Operand {
  return [binding, 0];
}

const BINDING = /@group\(0\)\s*@binding\((\d+)\)\s*var(<[^>]*>)?\s+(\w+)\s*:/g;
const PARAMS = /struct\s+Params\s*\{([^}]*)\}/;
const FIELD = /(\w+)\s*:\s*(\w+)/g;

/** Checks `spec` against its WGSL and resolves the binding numbers; throws on any mismatch. */
export function declareKernels<const M extends KernelModuleSpec>(spec: M): KernelModule<M> {
  const fail = (what: string): never => {
    throw new Error(`${spec.name}.wgsl: ${what}`);
  };
  const slots = new Map<string, number>();
  const uniforms = new Set<string>();
  for (const [, slot, space, name] of spec.code.matchAll(BINDING)) {
    slots.set(name, Number(slot));
    if (space?.includes("uniform")) uniforms.add(name);
  }
  if (!uniforms.has("p")) fail("no `var<uniform> p: Params`");
  const wgsl = [...(spec.code.match(PARAMS)?.[1] ?? "").matchAll(FIELD)].map(([, n, t]) => `${n}: ${t}`).join(", ");
  const declared = Object.entries(spec.params)
    .map(([n, t]) => `${n}: ${t}`)
    .join(", ");
  if (wgsl !== declared) fail(`struct Params is { ${wgsl} }, declared { ${declared} }`);
  for (const [entry, bindings] of Object.entries(spec.entries)) {
    if (!new RegExp(`\\bfn\\s+${entry}\\s*\\(`).test(spec.code)) fail(`no entry point ${entry}`);
    for (const b of bindings) if (!slots.has(b) || uniforms.has(b)) fail(`${entry}: no storage binding ${b}`);
  }
  return { spec, slots };
}

type EntryOf<M extends KernelModuleSpec> = keyof M["entries"] & string;
type KernelOf<M extends KernelModuleSpec, E extends EntryOf<M>> = Kernel<M["params"], M["entries"][E][number]>;

/** One pipeline of a declared module: records dispatches by named uniform values and operands. */
export class Kernel<P extends KernelModuleSpec["params"], B extends string> {
  private readonly layout: GPUBindGroupLayout;
  /** Reused for every dispatch: `writeBuffer` copies the uniform values when called. */
  private readonly words: Uint32Array;
  private readonly floats: Float32Array;
  private readonly fields: [string, Scalar][];

  constructor(
    /** "module.entry_point", for errors. */
    readonly label: string,
    private readonly pipeline: GPUComputePipeline,
    params: P,
    private readonly paramsSlot: number,
    private readonly bindings: readonly (readonly [B, number])[],
  ) {
    this.layout = pipeline.getBindGroupLayout(0);
    this.fields = Object.entries(params);
    const data = new ArrayBuffer(4 * Math.max(4, this.fields.length));
    this.words = new Uint32Array(data);
    this.floats = new Float32Array(data);
  }

  /** Checks every operand's size, then binds the operands and a uniform block and dispatches. */
  dispatch(
    batch: CommandBatch,
    params: ParamValues<P>,
    operands: { readonly [N in B]: Operand },
    workgroups: [number, number?, number?],
  ): void {
    const entries: GPUBindGroupEntry[] = [];
    for (const [name, slot] of this.bindings) {
      const [binding, values] = operands[name];
      const bytes = batch.bindingBytes(binding);
      if (bytes < values * 4) {
        throw new RangeError(
          `${this.label}: binding "${name}" has ${bytes} bytes but the kernel accesses ${values * 4} (${values} values)`,
        );
      }
      entries.push({ binding: slot, resource: "buffer" in binding ? binding : { buffer: binding } });
    }
    entries.push({ binding: this.paramsSlot, resource: { buffer: this.uniform(batch, params) } });
    batch.dispatch(this.pipeline, entries, workgroups, this.layout);
  }

  /** Dispatches at least `threads` invocations of a `@workgroup_size(WG)` entry point. */
  dispatchThreads(
    batch: CommandBatch,
    params: ParamValues<P>,
    operands: { readonly [N in B]: Operand },
    threads: number,
  ): void {
    const groups = Math.ceil(threads / WG);
    const x = Math.min(groups, 65535);
    this.dispatch(batch, params, operands, [x, Math.ceil(groups / x)]);
  }

  private uniform(batch: CommandBatch, params: ParamValues<P>): GPUBuffer {
    const values = params as Readonly<Record<string, number | boolean | undefined>>;
    this.words.fill(0);
    for (let i = 0; i < this.fields.length; i++) {
      const [name, type] = this.fields[i];
      const v = Number(values[name] ?? 0);
      if (type === "u32") this.words[i] = v;
      else this.floats[i] = v;
    }
    return batch.uniform(this.words);
  }
}

/** Compiles (once, through the context's cache) one entry point of a declared module. */
export async function loadKernel<M extends KernelModuleSpec, E extends EntryOf<M>>(
  ctx: GpuContext,
  module: KernelModule<M>,
  entryPoint: E,
  constants?: Record<string, number>,
): Promise<KernelOf<M, E>> {
  const { spec, slots } = module;
  const label = `${spec.name}.${entryPoint}`;
  const pipeline = await ctx.pipelines.get({ code: common + spec.code, entryPoint, constants, label });
  const names = spec.entries[entryPoint] as readonly M["entries"][E][number][];
  const bindings = names.map((n) => [n, slots.get(n) as number] as const);
  return new Kernel(label, pipeline, spec.params, slots.get("p") as number, bindings);
}

/** Compiles named specializations (entry point + override constants) of a declared module. */
export async function loadKernels<
  M extends KernelModuleSpec,
  const V extends Record<string, { entryPoint: EntryOf<M>; constants?: Record<string, number> }>,
>(ctx: GpuContext, module: KernelModule<M>, variants: V): Promise<{ [K in keyof V]: KernelOf<M, V[K]["entryPoint"]> }> {
  const names = Object.keys(variants);
  const kernels = await Promise.all(
    names.map((n) => loadKernel(ctx, module, variants[n].entryPoint, variants[n].constants)),
  );
  return Object.fromEntries(names.map((n, i) => [n, kernels[i]])) as {
    [K in keyof V]: KernelOf<M, V[K]["entryPoint"]>;
  };
}

/**
 * Named tensors at aligned offsets in one flat buffer (the denoiser's trainable tensors, the
 * ViT's parameters): each tensor binds as a view, and a span of them is one buffer range, so
 * clipping + AdamW over them is one pass. The padding between tensors stays zero (no gradient,
 * no update).
 */
type F32 = Float32Array;

export class FlatLayout {
  /** Byte offset and float count by name, in order. */
  private readonly entries = new Map<string, { offset: number; size: number }>();
  /** Bytes of a buffer with this layout. */
  readonly bytes: number;

  /** `align`: the device's minStorageBufferOffsetAlignment. */
  constructor(sizes: Iterable<readonly [string, number]>, align: number) {
    let at = 0;
    for (const [name, size] of sizes) {
      this.entries.set(name, { offset: at, size });
      at += Math.ceil((size * 4) / align) * align;
    }
    this.bytes = at;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Byte offset of `name`. */
  offset(name: string): number {
    return this.entry(name).offset;
  }

  /** Tensor `name` inside a buffer of this layout. */
  view(flat: GPUBuffer, name: string): GPUBufferBinding {
    const { offset, size } = this.entry(name);
    return { buffer: flat, offset, size: size * 4 };
  }

  /** The tensors of `tensors` at their offsets (every name of the layout must be there, at its size). */
  pack(tensors: ReadonlyMap<string, F32>, what: string): F32 {
    const flat = new Float32Array(this.bytes / 4);
    for (const [name, { offset, size }] of this.entries) {
      const t = tensors.get(name);
      if (!t || t.length !== size)
        throw new Error(`${what}: ${name} ${t ? `has ${t.length} values, expected ${size}` : "is missing"}`);
      flat.set(t, offset / 4);
    }
    return flat;
  }

  /** A buffer's contents, read back, as tensors by name (those of `names`, or all). */
  split(data: ArrayBuffer | F32, names: Iterable<string> = this.entries.keys()): Map<string, F32> {
    const flat = data instanceof Float32Array ? data : new Float32Array(data);
    return new Map(
      [...names].map((n) => {
        const { offset, size } = this.entry(n);
        return [n, flat.slice(offset / 4, offset / 4 + size)];
      }),
    );
  }

  private entry(name: string) {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no tensor ${name} in this layout`);
    return e;
  }
}

/**
 * Where the CPU engine's tensors come from. Outside a `Scratch.run`, fresh arrays; inside one, the
 * arrays of the scratch's previous run, zeroed. Why: a step allocates hundreds of MB of short-lived
 * Float32Arrays, and in a browser every fresh one is new memory whose pages fault in on first
 * write (measured in Chromium on the build machine: 1.2 ms to fill a fresh 256 KB array, 0.04 ms
 * an old one), which made a step twice as slow in a page as in Node.
 */
import type { F32 } from "./ops";

let active: Scratch | null = null;

/** A zeroed float32 tensor of `n` values: from the running scratch when there is one. */
export function tensor(n: number): F32 {
  return active ? active.take(n) : new Float32Array(n);
}

/** `x` copied into a `tensor`. */
export function copyOf(x: F32): F32 {
  const y = tensor(x.length);
  y.set(x);
  return y;
}

/** `f` of each value of `x` (and its index) into a `tensor`: `x.map(f)` from the scratch. */
export function mapOf(x: F32, f: (v: number, i: number) => number): F32 {
  const y = tensor(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i], i);
  return y;
}

/** Reusable tensors for repeated runs of the same computation (one training step after another). */
export class Scratch {
  private readonly free = new Map<number, F32[]>();
  private used: F32[] = [];

  take(n: number): F32 {
    const reused = this.free.get(n)?.pop();
    const t = reused ? reused.fill(0) : new Float32Array(n);
    this.used.push(t);
    return t;
  }

  /**
   * Runs `compute` (synchronous) with every engine tensor taken from this scratch, after handing
   * back the previous run's: what it returns is valid until the next run, so results that must
   * outlive that are copied by the caller.
   */
  run<T>(compute: () => T): T {
    for (const t of this.used) {
      const list = this.free.get(t.length);
      if (list) list.push(t);
      else this.free.set(t.length, [t]);
    }
    this.used = [];
    const outer = active;
    active = this;
    try {
      return compute();
    } finally {
      active = outer;
    }
  }
}

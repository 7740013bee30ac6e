/**
 * Seeded Gaussian noise that is the same on every platform: a 32-bit integer generator
 * (SplitMix32 seeding a xoshiro128**) built only from Math.imul and shifts, and Box–Muller with
 * double-precision log/cos/sin (V8's fdlibm ports, identical in Node and Chromium workers),
 * rounded to float32.
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128**: returns uniform uint32 values. */
export function uint32Stream(seed: number): () => number {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
}

/** Uniform floats in [0, 1) from `uint32Stream(seed)`. */
export function uniformStream(seed: number): () => number {
  const next = uint32Stream(seed);
  return () => next() / 2 ** 32;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** n standard-normal float32 samples for `seed`. */
export function gaussian(seed: number, n: number): Float32Array {
  const next = uint32Stream(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 53-bit-free uniforms in (0, 1]: (k + 1) / 2^32, never 0 so log is finite.
    const u1 = (next() + 1) / 4294967296;
    const u2 = next() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Initial latent noise for a batch: image b uses seed + b, so one image of a batch can be rerun alone. */
export function latentNoise(seed: number, batch: number, perImage: number): Float32Array {
  const out = new Float32Array(batch * perImage);
  for (let b = 0; b < batch; b++) out.set(gaussian(seed + b, perImage), b * perImage);
  return out;
}

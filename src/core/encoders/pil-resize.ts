/**
 * Pillow's `Image.resize` on 8-bit RGB images, reproduced exactly (tests/pil-resize.test.ts checks
 * it against Pillow itself), because Hugging Face image processors resize with Pillow on uint8
 * pixels before they rescale and normalize in float.
 *
 * What Pillow does (libImaging/Resample.c, Geometry.c):
 * - `NEAREST`: an affine scale; the source column of output x is ⌊a₂ + a₀/2 + x·a₀⌋ with
 *   a₀ = in/out, accumulated by repeated addition in double precision, and the same for rows.
 * - every other filter: a separable convolution, horizontal pass first (only over the rows the
 *   vertical pass reads), then vertical; each pass writes clipped 8-bit values. Per output pixel
 *   the filter's support is scaled by the downscale factor (at least 1), the window is
 *   [⌊centre − support + ½⌋, ⌊centre + support + ½⌋) clipped to the image, the weights are
 *   normalized to sum to one, then turned into fixed point with 22 fractional bits (rounded half
 *   away from zero); a pixel is ⌊(2²¹ + Σ uint8·weight) / 2²²⌋ clipped to [0, 255].
 */

export const RESAMPLE_FILTERS = ["nearest", "lanczos", "bilinear", "bicubic", "box", "hamming"] as const;
/** Pillow's filter names; the index is Pillow's `Resampling` id (0 nearest … 5 hamming). */
export type ResampleFilter = (typeof RESAMPLE_FILTERS)[number];

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

interface Filter {
  weight(x: number): number;
  support: number;
}

const sinc = (x: number) => {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
};

// Pillow writes these constants as C floats (0.54f, 0.46f) promoted to double.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Record<Exclude<ResampleFilter, "nearest">, Filter> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  hamming: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Coefficients {
  /** Per output index: first input index and how many inputs the window holds. */
  start: Int32Array;
  count: Int32Array;
  /** `ksize` fixed-point weights per output index. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis (box = [0, inSize]). */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[xx] = xmin;
    count[xx] = Math.max(0, xmax);
  }
  return { start, count, weights, ksize };
}

/** Pillow's clip8: the fixed-point sum shifted down, clipped to a byte. */
function clip8(sum: number): number {
  const v = Math.floor(sum / ONE);
  return Math.max(0, Math.min(255, v));
}

function horizontal(src: RgbImage, outWidth: number, rowFirst: number, rows: number, c: Coefficients): RgbImage {
  const out = new Uint8Array(outWidth * rows * 3);
  for (let y = 0; y < rows; y++) {
    const row = (y + rowFirst) * src.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.start[xx];
      const n = c.count[xx];
      const kb = xx * c.ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < n; x++) {
        const w = c.weights[kb + x];
        const p = row + (x + xmin) * 3;
        s0 += src.data[p] * w;
        s1 += src.data[p + 1] * w;
        s2 += src.data[p + 2] * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { width: outWidth, height: rows, data: out };
}

function vertical(src: RgbImage, outHeight: number, rowShift: number, c: Coefficients): RgbImage {
  const w3 = src.width * 3;
  const out = new Uint8Array(w3 * outHeight);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.start[yy] - rowShift;
    const n = c.count[yy];
    const kb = yy * c.ksize;
    for (let i = 0; i < w3; i++) {
      let s = HALF;
      for (let y = 0; y < n; y++) s += src.data[(y + ymin) * w3 + i] * c.weights[kb + y];
      out[yy * w3 + i] = clip8(s);
    }
  }
  return { width: src.width, height: outHeight, data: out };
}

/** Pillow's nearest-neighbour scale (ImagingScaleAffine with a = [in/out, 0, 0, 0, in/out, 0]). */
function nearest(src: RgbImage, width: number, height: number): RgbImage {
  const a0 = src.width / width;
  const a4 = src.height / height;
  const coord = (v: number) => (v < 0 ? -1 : Math.trunc(v));
  const xin = new Int32Array(width);
  let xo = a0 * 0.5;
  for (let x = 0; x < width; x++) {
    xin[x] = Math.min(src.width - 1, coord(xo));
    xo += a0;
  }
  const out = new Uint8Array(width * height * 3);
  let yo = a4 * 0.5;
  for (let y = 0; y < height; y++) {
    const yi = Math.min(src.height - 1, coord(yo));
    yo += a4;
    for (let x = 0; x < width; x++) {
      const s = (yi * src.width + xin[x]) * 3;
      const o = (y * width + x) * 3;
      out[o] = src.data[s];
      out[o + 1] = src.data[s + 1];
      out[o + 2] = src.data[s + 2];
    }
  }
  return { width, height, data: out };
}

/** `Image.resize((width, height), resample=filter)` of an RGB image, as Pillow computes it. */
export function pilResize(src: RgbImage, width: number, height: number, filter: ResampleFilter): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resize to ${width}×${height}: sizes must be positive integers`);
  }
  if (src.data.length !== src.width * src.height * 3) throw new RangeError("RGB buffer has the wrong length");
  if (width === src.width && height === src.height) return { width, height, data: src.data.slice() };
  if (filter === "nearest") return nearest(src, width, height);
  const f = FILTERS[filter];
  const needH = width !== src.width;
  const needV = height !== src.height;
  const ch = coefficients(src.width, width, f);
  const cv = coefficients(src.height, height, f);
  let image = src;
  let shift = 0;
  if (needH) {
    // Only the rows the vertical pass reads.
    const first = cv.start[0];
    const last = cv.start[height - 1] + cv.count[height - 1];
    image = needV ? horizontal(src, width, first, last - first, ch) : horizontal(src, width, 0, src.height, ch);
    shift = needV ? first : 0;
  }
  return needV ? vertical(image, height, shift, cv) : image;
}

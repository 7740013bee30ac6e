/**
 * Pixels ⇄ model tensors, following the manifest's `image` section: references are composited
 * over the pack's background colour (alpha removed), fitted into a size² square keeping the
 * aspect ratio, padded with the background, and mapped to `range` in NCHW float32.
 */

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, straight (not premultiplied) alpha. */
  data: Uint8ClampedArray;
}

export interface ImageSpec {
  size: number;
  range: [number, number];
  background: [number, number, number];
}

/** Largest image side the studio accepts before resizing (huge uploads are refused, not decoded). */
export const MAX_IMAGE_SIDE = 8192;

export function checkImage(img: RgbaImage, source: string): void {
  if (img.width < 1 || img.height < 1) throw new Error(`${source}: image has no pixels`);
  if (img.width > MAX_IMAGE_SIDE || img.height > MAX_IMAGE_SIDE) {
    throw new Error(
      `${source}: image is ${img.width}×${img.height}; the largest accepted side is ${MAX_IMAGE_SIDE} px`,
    );
  }
  if (img.data.length !== img.width * img.height * 4) throw new Error(`${source}: pixel buffer has the wrong length`);
}

/** Composites over `bg`, returns RGB in [0,1] as width × height × 3 float32. */
function flatten(img: RgbaImage, bg: [number, number, number]): Float32Array {
  const out = new Float32Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < img.data.length; i += 4, j += 3) {
    const a = img.data[i + 3] / 255;
    for (let c = 0; c < 3; c++) out[j + c] = (img.data[i + c] * a + bg[c] * (1 - a)) / 255;
  }
  return out;
}

/**
 * Area-weighted resampling of an RGB float image: each output pixel averages the input area it
 * covers (exact box filter when shrinking, bilinear-like when enlarging by pixel replication).
 */
function resample(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh * 3);
  const sx = sw / dw;
  const sy = sh / dh;
  for (let y = 0; y < dh; y++) {
    const y0 = y * sy;
    const y1 = y0 + sy;
    for (let x = 0; x < dw; x++) {
      const x0 = x * sx;
      const x1 = x0 + sx;
      let r = 0;
      let g = 0;
      let b = 0;
      let wsum = 0;
      for (let iy = Math.floor(y0); iy < Math.min(sh, Math.ceil(y1)); iy++) {
        const wy = Math.min(y1, iy + 1) - Math.max(y0, iy);
        for (let ix = Math.floor(x0); ix < Math.min(sw, Math.ceil(x1)); ix++) {
          const w = wy * (Math.min(x1, ix + 1) - Math.max(x0, ix));
          const k = (iy * sw + ix) * 3;
          r += src[k] * w;
          g += src[k + 1] * w;
          b += src[k + 2] * w;
          wsum += w;
        }
      }
      const o = (y * dw + x) * 3;
      out[o] = r / wsum;
      out[o + 1] = g / wsum;
      out[o + 2] = b / wsum;
    }
  }
  return out;
}

/** An uploaded or gallery image → one NCHW model input [3, size, size] in spec.range. */
export function imageToTensor(img: RgbaImage, spec: ImageSpec, source = "image"): Float32Array {
  checkImage(img, source);
  const { size, range, background } = spec;
  const scale = size / Math.max(img.width, img.height);
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const fitted = resample(flatten(img, background), img.width, img.height, w, h);
  const ox = Math.floor((size - w) / 2);
  const oy = Math.floor((size - h) / 2);
  const out = new Float32Array(3 * size * size);
  const lo = range[0];
  const span = range[1] - range[0];
  for (let c = 0; c < 3; c++) {
    const bgv = lo + (background[c] / 255) * span;
    const plane = out.subarray(c * size * size, (c + 1) * size * size);
    plane.fill(bgv);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) plane[(y + oy) * size + x + ox] = lo + fitted[(y * w + x) * 3 + c] * span;
    }
  }
  return out;
}

/** Image `index` of an NCHW batch in spec.range → RGBA bytes (clamped, opaque). */
export function tensorToImage(nchw: Float32Array, index: number, size: number, range: [number, number]): RgbaImage {
  const hw = size * size;
  const base = index * 3 * hw;
  const data = new Uint8ClampedArray(hw * 4);
  const span = range[1] - range[0];
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(((nchw[base + c * hw + p] - range[0]) / span) * 255);
    data[p * 4 + 3] = 255;
  }
  return { width: size, height: size, data };
}

/** Throws a readable error when a model output holds NaN or ±Inf. */
export function assertFinite(values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(
        `${what} contains ${Number.isNaN(values[i]) ? "NaN" : "Inf"} (first at index ${i}); the result was discarded`,
      );
    }
  }
}

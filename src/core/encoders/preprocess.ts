/**
 * An image → an encoder's `[3, S, S]` float32 input, by its EncoderSpec: the pack convention
 * (composited on the background, fitted into the square, mapped to `range`, optional
 * normalization), or, when the spec has a `preprocess` block, a Hugging Face image processor's
 * steps in transformers' order and arithmetic:
 *
 * 1. `convert("RGB")` as Pillow does it: alpha is dropped, transparent pixels keep their colour;
 * 2. Pillow's uint8 resize (./pil-resize.ts), to `shortest_edge` with transformers' output size
 *    rule (the long side is ⌊shortest_edge · long / short⌋) or to `height`×`width`;
 * 3. transformers' `center_crop`: top = ⌊(H − h)/2⌋, left = ⌊(W − w)/2⌋, zero padding when the
 *    image is smaller than the crop;
 * 4. float32: `x = float32(uint8 · rescale_factor)` (the product in double, as numpy does after
 *    its float64 upcast), then `(x − mean) / std` with float32 mean and std.
 */
import { checkImage, imageToTensor, type RgbaImage } from "../generate/image";
import { type EncoderSpec, normalizeChannels, type Preprocess } from "../quality/encoder-spec";
import { pilResize, type RgbImage } from "./pil-resize";

/** Pillow's `convert("RGB")` of an RGBA image: the colour channels, alpha dropped. */
export function dropAlpha(image: RgbaImage): RgbImage {
  const n = image.width * image.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = image.data[i * 4];
    data[i * 3 + 1] = image.data[i * 4 + 1];
    data[i * 3 + 2] = image.data[i * 4 + 2];
  }
  return { width: image.width, height: image.height, data };
}

/** transformers' `get_resize_output_image_size(…, default_to_square=False)`: `[height, width]`. */
export function shortestEdgeSize(width: number, height: number, shortest: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((shortest * long) / short);
  return width <= height ? [newLong, shortest] : [shortest, newLong];
}

/** transformers' `center_crop` of an HWC image, zero-padded where the image is smaller than the crop. */
export function centerCrop(image: RgbImage, height: number, width: number): RgbImage {
  const top = Math.floor((image.height - height) / 2);
  const left = Math.floor((image.width - width) / 2);
  const out = new Uint8Array(width * height * 3);
  if (top >= 0 && left >= 0 && top + height <= image.height && left + width <= image.width) {
    for (let y = 0; y < height; y++) {
      const from = ((top + y) * image.width + left) * 3;
      out.set(image.data.subarray(from, from + width * 3), y * width * 3);
    }
    return { width, height, data: out };
  }
  // Pad to at least the crop size (the image centred, rounded as transformers does), then crop.
  const newH = Math.max(height, image.height);
  const newW = Math.max(width, image.width);
  const padTop = Math.ceil((newH - image.height) / 2);
  const padLeft = Math.ceil((newW - image.width) / 2);
  const t = top + padTop;
  const l = left + padLeft;
  const y0 = Math.max(0, t);
  const x0 = Math.max(0, l);
  const outH = Math.min(newH, t + height) - y0;
  const outW = Math.min(newW, l + width) - x0;
  const padded = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const sy = y0 + y - padTop;
    if (sy < 0 || sy >= image.height) continue;
    for (let x = 0; x < outW; x++) {
      const sx = x0 + x - padLeft;
      if (sx < 0 || sx >= image.width) continue;
      const s = (sy * image.width + sx) * 3;
      padded.set(image.data.subarray(s, s + 3), (y * outW + x) * 3);
    }
  }
  return { width: outW, height: outH, data: padded };
}

/** Steps 1–3: the uint8 RGB image the processor converts to floats. */
export function processorImage(image: RgbaImage, p: Preprocess, source = "image"): RgbImage {
  checkImage(image, source);
  let rgb = dropAlpha(image);
  if (p.resize) {
    const [h, w] =
      "shortest_edge" in p.resize
        ? shortestEdgeSize(rgb.width, rgb.height, p.resize.shortest_edge)
        : [p.resize.height, p.resize.width];
    rgb = pilResize(rgb, w, h, p.resample);
  }
  if (p.crop) rgb = centerCrop(rgb, p.crop.height, p.crop.width);
  return rgb;
}

/** Step 4 on an HWC uint8 image: NCHW float32 `[3, H, W]`. */
export function pixelValues(rgb: RgbImage, p: Preprocess, normalize?: EncoderSpec["normalize"]): Float32Array {
  const plane = rgb.width * rgb.height;
  const out = new Float32Array(3 * plane);
  const factor = p.rescale_factor;
  for (let c = 0; c < 3; c++) {
    const mean = normalize ? Math.fround(normalize.mean[c]) : 0;
    const std = normalize ? Math.fround(normalize.std[c]) : 1;
    for (let i = 0; i < plane; i++) {
      const v = rgb.data[i * 3 + c];
      const x = factor === undefined ? v : Math.fround(v * factor);
      // Each float32 operation rounded once, as numpy's float32 arithmetic does.
      out[c * plane + i] = normalize ? Math.fround(Math.fround(x - mean) / std) : x;
    }
  }
  return out;
}

/** The image as the encoder's input `[3, S, S]` (see the module comment). */
export function encoderInput(
  spec: EncoderSpec,
  image: RgbaImage,
  background: [number, number, number],
  source = "image",
): Float32Array {
  return encoderInputAndImage(spec, image, background, source).pixels;
}

/**
 * The encoder's input and, for processor steps, the uint8 image they produced (what the patch
 * grid covers: after a center crop, only the middle of the original image).
 */
export function encoderInputAndImage(
  spec: EncoderSpec,
  image: RgbaImage,
  background: [number, number, number],
  source = "image",
): { pixels: Float32Array; seen?: RgbaImage } {
  if (!spec.preprocess) {
    const pixels = imageToTensor(image, { size: spec.image_size, range: spec.range, background }, source);
    return { pixels: normalizeChannels(pixels, spec) };
  }
  const rgb = processorImage(image, spec.preprocess, source);
  if (rgb.width !== spec.image_size || rgb.height !== spec.image_size) {
    throw new Error(`${source}: preprocessing gave ${rgb.width}×${rgb.height}, the encoder takes ${spec.image_size}²`);
  }
  return { pixels: pixelValues(rgb, spec.preprocess, spec.normalize), seen: rgbToRgba(rgb) };
}

/** The processed uint8 image as opaque RGBA, to show what the encoder saw (Inspect). */
export function rgbToRgba(rgb: RgbImage): RgbaImage {
  const n = rgb.width * rgb.height;
  const data = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    data[i * 4] = rgb.data[i * 3];
    data[i * 4 + 1] = rgb.data[i * 3 + 1];
    data[i * 4 + 2] = rgb.data[i * 3 + 2];
    data[i * 4 + 3] = 255;
  }
  return { width: rgb.width, height: rgb.height, data };
}

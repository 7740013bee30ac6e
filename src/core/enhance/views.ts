/**
 * Training pairs for patch-encoder enhancement, made as the foundry makes them
 * (foundry/foundry/batches.py `correspondence_batch`): one subject drawn twice under different
 * similarity transforms (view A upright, view B scaled ×0.6–1.5 and rotated ±26°), on different
 * backgrounds (A on white 30 % of the time, as references are), B colour-jittered and sometimes
 * blurred. For each patch of B, the index of the A patch its centre lands on, or −1 where that
 * point is off the subject in either view: only subject patches count.
 */
import type { RgbaImage } from "../generate/image";
import { uniformStream } from "../sampling/rng";

/** A subject cut out: HWC RGB in [0,1] and its alpha (coverage), both side × side. */
export interface Sprite {
  side: number;
  rgb: Float32Array;
  alpha: Float32Array;
}

export interface ViewPair {
  /** `[3, size, size]` in [−1, 1]. */
  a: Float32Array;
  b: Float32Array;
  /** Per B patch (row-major grid), the corresponding A patch or −1. */
  target: Int32Array;
}

export interface ViewOptions {
  /** Output side in pixels. */
  size: number;
  /** Patches per side. */
  grid: number;
}

/** Per-channel distance from the border colour past which a pixel of an opaque image is subject. */
const FOREGROUND_DISTANCE = 0.12;

/**
 * A sprite from an image: its alpha where it has one, else the pixels that differ from the
 * median border colour (references are shot on a plain background), softened by one pixel.
 */
export function spriteOf(img: RgbaImage): Sprite {
  if (img.width !== img.height) throw new Error(`spriteOf: the image is ${img.width}×${img.height}, not square`);
  const side = img.width;
  const n = side * side;
  const rgb = new Float32Array(n * 3);
  const alpha = new Float32Array(n);
  let opaque = true;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = img.data[p * 4 + c] / 255;
    alpha[p] = img.data[p * 4 + 3] / 255;
    if (img.data[p * 4 + 3] < 255) opaque = false;
  }
  if (!opaque) return { side, rgb, alpha };
  const border: number[][] = [[], [], []];
  for (let i = 0; i < side; i++)
    for (const p of [i, (side - 1) * side + i, i * side, i * side + side - 1])
      for (let c = 0; c < 3; c++) border[c].push(rgb[p * 3 + c]);
  const bg = border.map((v) => v.sort((x, y) => x - y)[v.length >> 1]);
  for (let p = 0; p < n; p++) {
    const d = Math.max(...[0, 1, 2].map((c) => Math.abs(rgb[p * 3 + c] - bg[c])));
    alpha[p] = Math.min(1, Math.max(0, (d - FOREGROUND_DISTANCE / 2) / (FOREGROUND_DISTANCE / 2)));
  }
  return { side, rgb, alpha };
}

/** A placement: centre (x, y) and side in output pixels, rotation in radians. */
interface Placement {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

/** Sprite coordinates (u, v) ∈ [−0.5, 0.5)² of output point (x, y) under `p`. */
function toSprite(p: Placement, x: number, y: number): [number, number] {
  const [dx, dy] = [x - p.cx, y - p.cy];
  const [cos, sin] = [Math.cos(p.angle), Math.sin(p.angle)];
  return [(cos * dx + sin * dy) / p.size, (-sin * dx + cos * dy) / p.size];
}

/** Bilinear sample of the sprite (RGB and alpha) at sprite coordinates; 0 outside. */
function sample(s: Sprite, u: number, v: number, out: Float32Array): number {
  const fx = (u + 0.5) * s.side - 0.5;
  const fy = (v + 0.5) * s.side - 0.5;
  const [x0, y0] = [Math.floor(fx), Math.floor(fy)];
  const [tx, ty] = [fx - x0, fy - y0];
  out.fill(0);
  let a = 0;
  for (const [x, y, w] of [
    [x0, y0, (1 - tx) * (1 - ty)],
    [x0 + 1, y0, tx * (1 - ty)],
    [x0, y0 + 1, (1 - tx) * ty],
    [x0 + 1, y0 + 1, tx * ty],
  ]) {
    if (x < 0 || y < 0 || x >= s.side || y >= s.side || w === 0) continue;
    const p = y * s.side + x;
    const wa = w * s.alpha[p];
    a += wa;
    for (let c = 0; c < 3; c++) out[c] += wa * s.rgb[p * 3 + c];
  }
  if (a > 0) for (let c = 0; c < 3; c++) out[c] /= a;
  return a;
}

/** The sprite placed over `background` (HWC [0,1], size²): HWC RGB. */
function render(s: Sprite, p: Placement, background: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const px = new Float32Array(3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const [u, v] = toSprite(p, x + 0.5, y + 0.5);
      const a = Math.abs(u) < 0.5 && Math.abs(v) < 0.5 ? sample(s, u, v, px) : 0;
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = a * px[c] + (1 - a) * background[o + c];
    }
  return out;
}

/** Brightness, contrast and saturation each ×U(0.8, 1.2), clamped to [0, 1]. */
function jitter(hwc: Float32Array, rand: () => number): void {
  const [bright, contrast, sat] = [0, 1, 2].map(() => 0.8 + 0.4 * rand());
  let mean = 0;
  for (const v of hwc) mean += v;
  mean /= hwc.length;
  for (let p = 0; p < hwc.length; p += 3) {
    const grey = (hwc[p] + hwc[p + 1] + hwc[p + 2]) / 3;
    for (let c = 0; c < 3; c++) {
      const v = ((grey + (hwc[p + c] - grey) * sat - mean) * contrast + mean) * bright;
      hwc[p + c] = Math.min(1, Math.max(0, v));
    }
  }
}

/** 3×3 box blur, edges clamped. */
function blur(hwc: Float32Array, size: number): Float32Array {
  const out = new Float32Array(hwc.length);
  const at = (x: number, y: number) =>
    (Math.min(size - 1, Math.max(0, y)) * size + Math.min(size - 1, Math.max(0, x))) * 3;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += hwc[at(x + dx, y + dy) + c];
        out[(y * size + x) * 3 + c] = sum / 9;
      }
  return out;
}

/** HWC [0,1] → CHW [−1,1]. */
function toModel(hwc: Float32Array, size: number): Float32Array {
  const out = new Float32Array(hwc.length);
  const n = size * size;
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = hwc[p * 3 + c] * 2 - 1;
  return out;
}

/** For each patch centre of view B, the A patch it lands on, or −1 off the subject. */
export function correspondences(s: Sprite, a: Placement, b: Placement, { size, grid }: ViewOptions): Int32Array {
  const step = size / grid;
  const target = new Int32Array(grid * grid).fill(-1);
  for (let gy = 0; gy < grid; gy++)
    for (let gx = 0; gx < grid; gx++) {
      const [u, v] = toSprite(b, (gx + 0.5) * step, (gy + 0.5) * step);
      if (Math.abs(u) >= 0.5 || Math.abs(v) >= 0.5) continue;
      const texel =
        Math.min(s.side - 1, Math.floor((v + 0.5) * s.side)) * s.side +
        Math.min(s.side - 1, Math.floor((u + 0.5) * s.side));
      if (s.alpha[texel] <= 0.5) continue;
      // The same sprite point in A (upright): x = cx + u·size, y = cy + v·size.
      const [cos, sin] = [Math.cos(a.angle), Math.sin(a.angle)];
      const ax = a.cx + (cos * u - sin * v) * a.size;
      const ay = a.cy + (sin * u + cos * v) * a.size;
      if (ax < 0 || ay < 0 || ax >= size || ay >= size) continue;
      target[gy * grid + gx] = Math.floor(ay / step) * grid + Math.floor(ax / step);
    }
  return target;
}

/**
 * One training pair of `sprite`. `backgrounds` are HWC [0,1] size² images (at least two);
 * `rand` draws uniform [0, 1).
 */
export function viewPair(
  sprite: Sprite,
  backgrounds: readonly Float32Array[],
  rand: () => number,
  options: ViewOptions,
): ViewPair {
  const { size } = options;
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const scale = size / 64; // the foundry's ranges are for 64-pixel views
  const sizeA = uniform(24, 56) * scale;
  const sizeB = Math.min(60 * scale, Math.max(18 * scale, sizeA * Math.exp(uniform(Math.log(0.6), Math.log(1.5)))));
  const a: Placement = { cx: uniform(20, 44) * scale, cy: uniform(20, 44) * scale, size: sizeA, angle: 0 };
  const b: Placement = {
    cx: uniform(20, 44) * scale,
    cy: uniform(20, 44) * scale,
    size: sizeB,
    angle: uniform(-0.45, 0.45),
  };
  const pick = () => backgrounds[Math.floor(rand() * backgrounds.length)];
  const white = new Float32Array(size * size * 3).fill(1);
  const bgA = rand() < 0.3 ? white : pick();
  let bgB = pick();
  if (bgB === bgA && backgrounds.length > 1) bgB = backgrounds[(backgrounds.indexOf(bgB) + 1) % backgrounds.length];
  const imgA = render(sprite, a, bgA, size);
  let imgB = render(sprite, b, bgB, size);
  jitter(imgB, rand);
  if (rand() < 0.3) imgB = blur(imgB, size);
  return { a: toModel(imgA, size), b: toModel(imgB, size), target: correspondences(sprite, a, b, options) };
}

/** Plain procedural backgrounds (colour gradients and stripes) for when a pack has none. */
export function proceduralBackgrounds(count: number, size: number, rand: () => number): Float32Array[] {
  return Array.from({ length: count }, () => {
    const [c0, c1] = [0, 1].map(() => [rand(), rand(), rand()]);
    const stripes = rand() < 0.5 ? 0 : 2 + Math.floor(rand() * 6);
    const angle = rand() * Math.PI;
    const out = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const t = ((x - size / 2) * Math.cos(angle) + (y - size / 2) * Math.sin(angle)) / size + 0.5;
        const w = stripes ? Math.abs(Math.floor(t * stripes)) % 2 : Math.min(1, Math.max(0, t));
        for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = c0[c] * (1 - w) + c1[c] * w;
      }
    return out;
  });
}

/** `count` pairs of `sprites` in turn, reproducible from `seed` (a fixed held-out set, or one step's batch). */
export function pairSet(
  sprites: readonly Sprite[],
  backgrounds: readonly Float32Array[],
  count: number,
  seed: number,
  options: ViewOptions,
): ViewPair[] {
  const rand = uniformStream(seed);
  return Array.from({ length: count }, (_, i) => viewPair(sprites[i % sprites.length], backgrounds, rand, options));
}

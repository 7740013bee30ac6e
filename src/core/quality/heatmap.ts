/**
 * Quality maps → colours: perceptually ordered colormaps and the RGBA heatmap the Inspect tab
 * draws over an image (one pixel per patch; the canvas scales it up without smoothing).
 */
import type { Grid } from "./maps.ts";

export const COLORMAPS = ["viridis", "magma", "red-green"] as const;
export type ColormapName = (typeof COLORMAPS)[number];

type Rgb = [number, number, number];

// Control points sampled from matplotlib's viridis and magma (t = 0, 0.25, 0.5, 0.75, 1);
// linear interpolation between them stays within a few levels of the full tables.
const STOPS: Record<ColormapName, Rgb[]> = {
  viridis: [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ],
  magma: [
    [0, 0, 4],
    [81, 18, 124],
    [183, 55, 121],
    [252, 137, 97],
    [252, 253, 191],
  ],
  // Low quality red, high green: the most direct reading of "bad patch" for a quick look.
  "red-green": [
    [215, 25, 28],
    [253, 174, 97],
    [255, 255, 191],
    [166, 217, 106],
    [26, 150, 65],
  ],
};

/** Colour of t ∈ [0,1] (clamped; NaN → black so broken values stand out). */
export function colormap(name: ColormapName, t: number): Rgb {
  if (Number.isNaN(t)) return [0, 0, 0];
  const stops = STOPS[name];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as Rgb;
}

export interface HeatmapOptions {
  colormap: ColormapName;
  /** Values mapped to the colormap's ends. */
  range: [number, number];
  /** Only patches with quality below this are coloured; the rest stay transparent. */
  threshold: number;
}

/** One RGBA pixel per patch, row-major. */
export function heatmapRgba(values: ArrayLike<number>, grid: Grid, o: HeatmapOptions): Uint8ClampedArray<ArrayBuffer> {
  const n = grid.height * grid.width;
  if (values.length !== n) throw new RangeError(`${values.length} values for a ${grid.height}×${grid.width} grid`);
  const [lo, hi] = o.range;
  const span = hi > lo ? hi - lo : 1;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v >= o.threshold) continue;
    const [r, g, b] = colormap(o.colormap, (v - lo) / span);
    out.set([r, g, b, 255], i * 4);
  }
  return out;
}

/** Min and max of the finite values, widened to a non-empty interval (for auto colour scaling). */
export function valueRange(values: ArrayLike<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** The patch under a point in an element of `width`×`height` CSS pixels showing `grid`, or -1 outside. */
export function patchAt(x: number, y: number, width: number, height: number, grid: Grid): number {
  if (!(x >= 0 && y >= 0 && x < width && y < height)) return -1;
  const col = Math.min(grid.width - 1, Math.floor((x / width) * grid.width));
  const row = Math.min(grid.height - 1, Math.floor((y / height) * grid.height));
  return row * grid.width + col;
}

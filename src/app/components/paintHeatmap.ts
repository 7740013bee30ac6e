/** Paints a patch-quality map onto a canvas, one pixel per patch; CSS or drawImage scales it up. */
import { type HeatmapOptions, heatmapRgba } from "../../core/quality/heatmap";
import type { Grid } from "../../core/quality/maps";

export function paintHeatmap(
  canvas: HTMLCanvasElement | OffscreenCanvas,
  values: ArrayLike<number>,
  grid: Grid,
  options: HeatmapOptions,
): void {
  canvas.width = grid.width;
  canvas.height = grid.height;
  // The union of the two canvases' getContext overloads loses the 2d context's type.
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  ctx?.putImageData(new ImageData(heatmapRgba(values, grid, options), grid.width, grid.height), 0, 0);
}

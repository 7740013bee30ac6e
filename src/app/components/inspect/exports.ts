/** Downloads from the Inspect tab: the heatmap over its image as PNG, the maps as JSON. */

import type { QualityResponse } from "../../../../workers/quality-api";
import type { RgbaImage } from "../../../core/generate/image";
import { heatmapRgba, valueRange } from "../../../core/quality/heatmap";
import type { PatchQualityMaps } from "../../../core/quality/maps";
import { download } from "../../download";
import type { ViewSettings } from "../../stores/inspect";
import { drawFitted } from "./images";

/** The shown side's image with the heatmap drawn over it at the chosen opacity, 8 px per image pixel at most 512 px. */
export async function exportHeatmapPng(image: RgbaImage, maps: PatchQualityMaps, view: ViewSettings): Promise<void> {
  const values = view.reverse ? maps.ref : maps.gen;
  const grid = view.reverse ? maps.refGrid : maps.genGrid;
  const base = document.createElement("canvas");
  drawFitted(base, image);
  const side = Math.min(512, base.width * 8);
  const out = document.createElement("canvas");
  out.width = side;
  out.height = side;
  const ctx = out.getContext("2d") as CanvasRenderingContext2D;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(base, 0, 0, side, side);
  const heat = new OffscreenCanvas(grid.width, grid.height);
  const range: [number, number] = view.autoRange ? valueRange(values) : [0, 1];
  const px = heatmapRgba(values, grid, { colormap: view.colormap, range, threshold: view.threshold });
  heat.getContext("2d")?.putImageData(new ImageData(px, grid.width, grid.height), 0, 0);
  ctx.globalAlpha = view.opacity;
  ctx.drawImage(heat, 0, 0, side, side);
  const blob = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, "image/png"));
  if (blob) download(blob, `heatmap-${view.reverse ? "reference" : "generated"}.png`);
}

export function exportMapsJson(result: QualityResponse, labels: { reference: string; generated: string }): void {
  const { maps } = result;
  const json = {
    reference: labels.reference,
    generated: labels.generated,
    encoder: result.encoderLabel,
    backend: result.backend,
    gen_grid: [maps.genGrid.height, maps.genGrid.width],
    ref_grid: [maps.refGrid.height, maps.refGrid.width],
    // Row-major; gen = p(x_gen[h,w]), ref = m_ref (coverage), *_match = best patch index on the other side.
    gen: Array.from(maps.gen),
    gen_match: Array.from(maps.genMatch),
    ref: Array.from(maps.ref),
    ref_match: Array.from(maps.refMatch),
  };
  download(new Blob([JSON.stringify(json)], { type: "application/json" }), "quality-maps.json");
}

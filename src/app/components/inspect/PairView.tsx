/**
 * Reference and generated image side by side, the heatmap over one of them, and the hover /
 * pin correspondence: a box on the patch under the pointer, a box on its best match on the other
 * side (precomputed argmax, so a hover is a lookup), a line between them and the cosine.
 * Hover latency is recorded as the performance measure "inspect-hover" (pointer event → DOM commit).
 */
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { RgbaImage } from "../../../core/generate/image";
import { patchAt, valueRange } from "../../../core/quality/heatmap";
import type { Grid, PatchQualityMaps } from "../../../core/quality/maps";
import type { ViewSettings } from "../../stores/inspect";
import { ColorBar } from "../ColorBar";
import { paintHeatmap } from "../paintHeatmap";
import { drawFitted } from "./images";

export const PANEL = 256;
const GAP = 48;

export function FittedImage({ image, label }: { image: RgbaImage; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawFitted(ref.current, image);
  }, [image]);
  return <canvas ref={ref} className="inspect-image" aria-label={label} style={{ width: PANEL, height: PANEL }} />;
}

/** The values at the colormap's ends: the map's own min–max, or [0, 1]. */
const rangeOf = (values: Float32Array, view: ViewSettings): [number, number] =>
  view.autoRange ? valueRange(values) : [0, 1];

export function Heatmap({
  values,
  grid,
  view,
  testId = "heatmap",
}: {
  values: Float32Array;
  grid: Grid;
  view: ViewSettings;
  testId?: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const range = rangeOf(values, view);
    paintHeatmap(ref.current, values, grid, { colormap: view.colormap, range, threshold: view.threshold });
  }, [values, grid, view]);
  return (
    <canvas
      ref={ref}
      className="inspect-heatmap"
      data-testid={testId}
      style={{ width: PANEL, height: PANEL, opacity: view.opacity }}
    />
  );
}

function box(index: number, grid: Grid, left: number) {
  const w = PANEL / grid.width;
  const h = PANEL / grid.height;
  const col = index % grid.width;
  const row = Math.floor(index / grid.width);
  return { x: left + col * w, y: row * h, w, h, cx: left + (col + 0.5) * w, cy: (row + 0.5) * h };
}

export function PairView({
  reference,
  generated,
  maps,
  view,
  pinned,
  onPin,
}: {
  reference: RgbaImage;
  generated: RgbaImage;
  maps?: PatchQualityMaps;
  view: ViewSettings;
  pinned: number;
  onPin(index: number): void;
}) {
  const [hover, setHover] = useState(-1);
  // The heatmap side: generated patches (normal) or reference patches (reverse view).
  const side = view.reverse
    ? {
        values: maps?.ref,
        match: maps?.refMatch,
        grid: maps?.refGrid,
        otherGrid: maps?.genGrid,
        left: 0,
        other: PANEL + GAP,
      }
    : {
        values: maps?.gen,
        match: maps?.genMatch,
        grid: maps?.genGrid,
        otherGrid: maps?.refGrid,
        left: PANEL + GAP,
        other: 0,
      };
  const active = hover >= 0 ? hover : pinned;

  useLayoutEffect(() => {
    if (hover < 0 || performance.getEntriesByName("inspect-hover-start", "mark").length === 0) return;
    performance.measure("inspect-hover", "inspect-hover-start");
    performance.clearMarks("inspect-hover-start");
  }, [hover]);

  const patchFromEvent = (e: React.PointerEvent | React.MouseEvent) => {
    if (!side.grid) return -1;
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    return patchAt(e.clientX - rect.left, e.clientY - rect.top, rect.width, rect.height, side.grid);
  };

  const onMove = (e: React.PointerEvent) => {
    const index = patchFromEvent(e);
    if (index === hover) return;
    performance.mark("inspect-hover-start");
    setHover(index);
  };

  let overlay: React.ReactNode = null;
  if (active >= 0 && side.values && side.match && side.grid && side.otherGrid) {
    const a = box(active, side.grid, side.left);
    const matchIndex = side.match[active];
    const b = box(matchIndex, side.otherGrid, side.other);
    const value = side.values[active];
    overlay = (
      <g data-testid="match" data-patch={active} data-match={matchIndex} data-value={value.toFixed(4)}>
        <rect x={a.x} y={a.y} width={a.w} height={a.h} className="inspect-box source" />
        <rect x={b.x} y={b.y} width={b.w} height={b.h} className="inspect-box target" />
        <line x1={a.cx} y1={a.cy} x2={b.cx} y2={b.cy} className="inspect-line" />
        <text x={(a.cx + b.cx) / 2} y={Math.max(12, (a.cy + b.cy) / 2 - 6)} className="inspect-value">
          {value.toFixed(3)}
        </text>
      </g>
    );
  }

  const heatmapPanel = (image: RgbaImage, label: string) => (
    // biome-ignore lint/a11y/noStaticElementInteractions: pointer inspection of patches; the maps are also exportable as JSON.
    <div
      className="inspect-panel interactive"
      data-testid="heatmap-panel"
      style={{ width: PANEL, height: PANEL }}
      onPointerMove={onMove}
      onPointerLeave={() => setHover(-1)}
      onKeyDown={(e) => {
        if (e.key === "Escape") onPin(-1);
      }}
      onClick={(e) => {
        const index = patchFromEvent(e);
        onPin(index === pinned ? -1 : index);
      }}
    >
      <FittedImage image={image} label={label} />
      {side.values && side.grid && <Heatmap values={side.values} grid={side.grid} view={view} />}
    </div>
  );
  const plainPanel = (image: RgbaImage, label: string) => (
    <div className="inspect-panel" style={{ width: PANEL, height: PANEL }}>
      <FittedImage image={image} label={label} />
    </div>
  );

  return (
    <>
      <div className="inspect-pair" style={{ width: 2 * PANEL + GAP, gap: GAP }}>
        {view.reverse ? heatmapPanel(reference, "Reference image") : plainPanel(reference, "Reference image")}
        {view.reverse ? plainPanel(generated, "Generated image") : heatmapPanel(generated, "Generated image")}
        <svg className="inspect-overlay" width={2 * PANEL + GAP} height={PANEL} aria-hidden="true">
          {overlay}
        </svg>
      </div>
      {side.values && (
        <div style={{ marginLeft: side.left }}>
          <ColorBar
            colormap={view.colormap}
            range={rangeOf(side.values, view)}
            threshold={view.threshold}
            label={view.reverse ? "m_ref: reference patch quality" : "m_gen: generated patch quality"}
          />
        </div>
      )}
    </>
  );
}

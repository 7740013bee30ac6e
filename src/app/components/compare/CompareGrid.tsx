/**
 * The generated grid: one row per cell (subject, prompt, seed), the reference and ground truth,
 * then each adapter's image with the chosen metric; optional patch-quality heatmaps; rows sorted
 * and filtered by one adapter's value of the metric. A click opens the image in Inspect.
 */

import { useEffect, useRef } from "react";
import type { RgbaImage } from "../../../core/generate";
import type { ImageRecord } from "../../../core/metrics/aggregate";
import { cellSubject } from "../../../core/metrics/grid";
import type { Grid } from "../../../core/quality/maps";
import { type CompareCellView, METRIC_LABELS, useCompare } from "../../stores/compare";
import { useInspect } from "../../stores/inspect";
import { useSettings } from "../../stores/settings";
import { ColorBar } from "../ColorBar";
import { toImageData } from "../generate/RgbaCanvas";
import { paintHeatmap } from "../paintHeatmap";

function Thumb({ image, map, grid, label }: { image: RgbaImage; map?: Float32Array; grid?: Grid; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx) return;
    ctx.putImageData(toImageData(image), 0, 0);
    if (map && grid) {
      // Quality cosines in [0, 1] mapped onto the colormap, blended over the image.
      const heat = new OffscreenCanvas(grid.width, grid.height);
      paintHeatmap(heat, map, grid, { colormap: "viridis", range: [0, 1], threshold: 2 });
      ctx.globalAlpha = 0.55;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(heat, 0, 0, image.width, image.height);
      ctx.globalAlpha = 1;
    }
  }, [image, map, grid]);
  return (
    <canvas
      ref={ref}
      className="rgba-canvas compare-thumb"
      width={image.width}
      height={image.height}
      role="img"
      aria-label={label}
    />
  );
}

const metricOf = (records: ImageRecord[], method: string, metric: string) =>
  records.find((r) => r.method === method)?.metrics[metric];

const fmt = (v: number | undefined) => (v === undefined ? "–" : Math.abs(v) >= 10 ? v.toFixed(2) : v.toFixed(3));

export function CompareGrid({ adapters, labels }: { adapters: string[]; labels: Record<string, string> }) {
  const cells = useCompare((s) => s.cells);
  const view = useCompare((s) => s.view);
  const metrics = [...new Set(cells.flatMap((c) => c.records.flatMap((r) => Object.keys(r.metrics))))];
  const metric = metrics.includes(view.metric) ? view.metric : (metrics[0] ?? view.metric);
  const sortBy = adapters.includes(view.sortBy) ? view.sortBy : adapters[0];
  const key = (c: CompareCellView) => metricOf(c.records, sortBy, metric) ?? Number.NaN;
  const rows = cells
    .filter((c) => Number.isNaN(view.minValue) || key(c) >= view.minValue)
    .sort((a, b) => (view.ascending ? key(a) - key(b) : key(b) - key(a)));
  const setView = useCompare.getState().setView;
  const open = (c: CompareCellView, i: number) => {
    const label = `${labels[adapters[i]] ?? adapters[i]}: ${cellSubject(c.cell)}, ${JSON.stringify(c.cell.prompt)}, seed ${c.cell.seed}`;
    const second = c.secondReference && { rgba: c.secondReference, label: c.cell.second ?? "B" };
    useInspect.getState().open({ rgba: c.reference, label: c.cell.subject }, { rgba: c.images[i], label }, second);
    useSettings.getState().setTab("inspect");
  };
  return (
    <section className="panel" aria-label="Comparison grid">
      <div className="row compare-grid-controls">
        <label>
          <input type="checkbox" checked={view.heatmaps} onChange={(e) => setView({ heatmaps: e.target.checked })} />{" "}
          heatmaps
        </label>
        {view.heatmaps && <ColorBar colormap="viridis" range={[0, 1]} label="patch quality (pack encoder)" />}
        <label>
          Metric{" "}
          <select aria-label="Grid metric" value={metric} onChange={(e) => setView({ metric: e.target.value })}>
            {metrics.map((k) => (
              <option key={k} value={k}>
                {METRIC_LABELS[k] ?? k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sort by{" "}
          <select aria-label="Sort by adapter" value={sortBy} onChange={(e) => setView({ sortBy: e.target.value })}>
            {adapters.map((a) => (
              <option key={a} value={a}>
                {labels[a] ?? a}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={view.ascending} onChange={(e) => setView({ ascending: e.target.checked })} />{" "}
          ascending
        </label>
        <label>
          Only rows with value ≥{" "}
          <input
            type="number"
            step="any"
            aria-label="Minimum value"
            value={Number.isNaN(view.minValue) ? "" : view.minValue}
            onChange={(e) => setView({ minValue: e.target.value === "" ? Number.NaN : Number(e.target.value) })}
          />
        </label>
        <span className="muted">
          {rows.length} of {cells.length} rows
        </span>
      </div>
      <table className="compare-grid" data-testid="compare-grid">
        <thead>
          <tr>
            <th>cell</th>
            <th>reference</th>
            {cells.some((c) => c.truth) && <th>ground truth</th>}
            {adapters.map((a) => (
              <th key={a}>{labels[a] ?? a}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr
              key={`${cellSubject(c.cell)}|${JSON.stringify(c.cell.prompt)}|${c.cell.seed}`}
              data-testid="compare-row"
            >
              <td className="cell-label">
                <strong>
                  {c.cell.second === undefined ? c.cell.subject : `A ${c.cell.subject} + B ${c.cell.second}`}
                </strong>
                <br />
                {Object.values(c.cell.prompt).join(", ")}
                <br />
                seed {c.cell.seed}
              </td>
              <td>
                <Thumb image={c.reference} label={`reference ${c.cell.subject}`} />
                {c.secondReference && <Thumb image={c.secondReference} label={`reference ${c.cell.second}`} />}
              </td>
              {cells.some((x) => x.truth) && <td>{c.truth && <Thumb image={c.truth} label="ground truth" />}</td>}
              {adapters.map((a, i) => (
                <td key={a}>
                  <button
                    type="button"
                    className="thumb-button"
                    title="Open in Inspect"
                    onClick={() => open(c, i)}
                    data-testid="compare-cell"
                  >
                    <Thumb
                      image={c.images[i]}
                      map={view.heatmaps ? c.maps[i]?.patch_quality : undefined}
                      grid={c.grid}
                      label={`${labels[a] ?? a}, ${cellSubject(c.cell)}, seed ${c.cell.seed}`}
                    />
                  </button>
                  <div className="cell-value">{fmt(metricOf(c.records, a, metric))}</div>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

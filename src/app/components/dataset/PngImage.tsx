/** Stored PNG bytes on screen, optionally under a patch-quality heatmap. */
import { useEffect, useRef, useState } from "react";
import type { Grid } from "../../../core/quality/maps";
import { paintHeatmap } from "../paintHeatmap";

/** An object URL for PNG bytes, revoked when the component goes. */
function usePngUrl(png: Uint8Array): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const u = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: "image/png" }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [png]);
  return url;
}

export function PngThumb({ png, label }: { png: Uint8Array; label: string }) {
  return <img src={usePngUrl(png)} alt={label} title={label} className="dataset-thumb" />;
}

/** The image with its quality map drawn over it, one canvas pixel per patch (viridis over `range`). */
export function HeatmapImage(props: {
  png: Uint8Array;
  label: string;
  values?: Float32Array;
  grid: Grid;
  opacity: number;
  range?: [number, number];
}) {
  const { values, grid, range = [0, 1] } = props;
  const [lo, hi] = range;
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!values || !ref.current) return;
    paintHeatmap(ref.current, values, grid, {
      colormap: "viridis",
      range: [lo, hi],
      threshold: Number.POSITIVE_INFINITY,
    });
  }, [values, grid, lo, hi]);
  return (
    <span className="dataset-heat">
      <img src={usePngUrl(props.png)} alt={props.label} title={props.label} />
      {values && <canvas ref={ref} width={grid.width} height={grid.height} style={{ opacity: props.opacity }} />}
    </span>
  );
}

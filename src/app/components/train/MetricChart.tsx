/** One live training curve (or a few over the same steps) as a uPlot line chart. */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLORS = ["#3b5bdb", "#d9480f", "#2b8a3e", "#862e9c"];

/** Axis ticks that stay readable for small values (learning rates of 3e-6 read "0" with uPlot's default). */
const tick = (v: number) => (v !== 0 && Math.abs(v) < 1e-2 ? v.toExponential(1) : String(Number(v.toPrecision(3))));

export interface Series {
  label: string;
  /** One value per x; null where the metric was not measured. */
  values: (number | null)[];
}

export function MetricChart({
  title,
  x,
  series,
  log,
}: {
  title: string;
  x: number[];
  series: Series[];
  log?: boolean;
}) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join("|");

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new plot only when the series change, not per step
  useEffect(() => {
    if (!el.current) return;
    const p = new uPlot(
      {
        width: 380,
        height: 170,
        scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        axes: [{ label: "step" }, { size: 60, values: (_, ticks) => ticks.map(tick) }],
        series: [
          { label: "step" },
          ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % 4], width: 1.5, spanGaps: true })),
        ],
        legend: { show: series.length > 1 },
      },
      [[], ...series.map(() => [])],
      el.current,
    );
    plot.current = p;
    return () => {
      p.destroy();
      plot.current = null;
    };
  }, [labels, log]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x, series]);

  const points = series.reduce((n, s) => Math.max(n, s.values.filter((v) => v !== null).length), 0);
  return (
    <figure className="metric-chart" data-metric={title} data-points={points}>
      <figcaption>
        {title}
        {points === 0 && <span className="muted"> (not measured yet)</span>}
      </figcaption>
      <div ref={el} />
    </figure>
  );
}

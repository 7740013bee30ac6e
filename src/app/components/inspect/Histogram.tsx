/** Histogram of patch qualities with the mean and the heatmap threshold marked. */
import { summarizeQuality } from "../../../core/quality/summary";

const W = 320;
const H = 96;

export function Histogram({ values, threshold, label }: { values: Float32Array; threshold: number; label: string }) {
  // Patch qualities often crowd near 1: the axis starts at the minimum (rounded down to 0.05) so
  // the bins resolve them, and reaches 1, the best possible cosine.
  const lo = Math.max(-1, Math.min(0.95, Math.floor(Math.min(...values) * 20) / 20));
  const s = summarizeQuality(values, 20, [lo, 1]);
  const peak = Math.max(...s.counts, 1);
  const x = (v: number) => ((v - lo) / (1 - lo)) * W;
  const barW = W / s.counts.length;
  return (
    <figure className="inspect-histogram" data-testid="histogram" data-mean={s.mean.toFixed(4)}>
      <svg width={W} height={H + 14} role="img" aria-label={`${label}: histogram, mean ${s.mean.toFixed(3)}`}>
        {Array.from(s.counts, (c, i) => (
          <rect
            key={s.edges[i]}
            x={i * barW + 1}
            y={H - (c / peak) * H}
            width={barW - 2}
            height={(c / peak) * H}
            className="bar"
          />
        ))}
        <line x1={x(s.mean)} x2={x(s.mean)} y1={0} y2={H} className="mean" />
        {threshold <= 1 && <line x1={x(threshold)} x2={x(threshold)} y1={0} y2={H} className="threshold" />}
        <text x={0} y={H + 12}>
          {lo.toFixed(2)}
        </text>
        <text x={W} y={H + 12} textAnchor="end">
          1.0
        </text>
      </svg>
      <figcaption>
        {label}: mean <strong data-testid="quality-mean">{s.mean.toFixed(3)}</strong> over {s.count} patches (min{" "}
        {s.min.toFixed(3)}, max {s.max.toFixed(3)})
      </figcaption>
    </figure>
  );
}

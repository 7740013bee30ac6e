/** A live line chart of one training curve (SVG polyline over the step axis). */
export function LossChart({ values, label }: { values: { step: number; value: number }[]; label: string }) {
  const W = 480;
  const H = 160;
  if (values.length === 0) return <p className="muted">No steps yet.</p>;
  const lo = Math.min(...values.map((v) => v.value));
  const hi = Math.max(...values.map((v) => v.value));
  const last = values[values.length - 1];
  const maxStep = Math.max(last.step, 1);
  const y = (v: number) => (hi > lo ? H - 8 - ((v - lo) / (hi - lo)) * (H - 16) : H / 2);
  const points = values.map((v) => `${((v.step / maxStep) * (W - 16) + 8).toFixed(1)},${y(v.value).toFixed(1)}`);
  return (
    <figure className="loss-chart" data-points={values.length}>
      <svg width={W} height={H} role="img" aria-label={`${label} over ${values.length} steps`}>
        <rect x={0} y={0} width={W} height={H} fill="none" stroke="currentColor" opacity={0.2} />
        <polyline points={points.join(" ")} fill="none" stroke="currentColor" strokeWidth={1.5} />
      </svg>
      <figcaption>
        {label}: {last.value.toPrecision(5)} at step {last.step} (range {lo.toPrecision(4)}–{hi.toPrecision(4)})
      </figcaption>
    </figure>
  );
}

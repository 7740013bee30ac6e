/** The key to a heatmap's colours: its colormap as a bar, with the values at its ends and middle. */
import { type ColormapName, colormap } from "../../core/quality/heatmap";

const STEPS = 16;

export function ColorBar({
  colormap: name,
  range: [lo, hi],
  threshold,
  label = "patch quality (cosine)",
}: {
  colormap: ColormapName;
  range: [number, number];
  /** Patches at or above this are left uncoloured; said when it cuts into the range. */
  threshold?: number;
  label?: string;
}) {
  const stops = Array.from(
    { length: STEPS + 1 },
    (_, i) => `rgb(${colormap(name, i / STEPS).join(",")}) ${(100 * i) / STEPS}%`,
  );
  const ticks = [lo, (lo + hi) / 2, hi];
  return (
    <figure className="color-bar" data-testid="color-bar" aria-label={`${label}: ${lo.toFixed(2)} to ${hi.toFixed(2)}`}>
      <div className="color-bar-ramp" style={{ background: `linear-gradient(to right, ${stops.join(", ")})` }} />
      <div className="color-bar-ticks">
        {ticks.map((t, i) => (
          <span key={String(i)}>{t.toFixed(2)}</span>
        ))}
      </div>
      <figcaption className="muted">
        {label}
        {threshold !== undefined && threshold < hi && `; patches ≥ ${threshold.toFixed(2)} uncoloured`}
      </figcaption>
    </figure>
  );
}

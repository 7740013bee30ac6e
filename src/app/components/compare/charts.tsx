/**
 * The Compare tab's charts, plain SVG (uPlot draws lines and bars but not interval whiskers per
 * bar): mean per method with its 95% interval for one metric, and per-subject deltas against the
 * baseline. Both can be rendered to PNG for the report (svgToPng).
 */
import type { ReactNode } from "react";
import type { CompareReport } from "../../../core/metrics/report";

const COLORS = ["#868e96", "#f08c00", "#3b5bdb", "#2f9e44", "#ae3ec9", "#e03131", "#1098ad"];
export const colorOf = (i: number) => COLORS[i % COLORS.length];

const W = 360;
const H = 200;
const PAD = { left: 52, right: 10, top: 22, bottom: 34 };

function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const nice = [1, 2, 5, 10].map((k) => k * step).find((s) => span / s <= 5) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-12; v += nice) out.push(+v.toPrecision(6));
  return out;
}

function Axis({ lo, hi, y }: { lo: number; hi: number; y: (v: number) => number }) {
  return (
    <g fontSize={10} fill="currentColor">
      {ticks(lo, hi).map((t) => (
        <g key={t}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="currentColor" opacity={0.12} />
          <text x={PAD.left - 4} y={y(t) + 3} textAnchor="end">
            {t}
          </text>
        </g>
      ))}
    </g>
  );
}

/** Bars of the mean per method with the 95% interval as whiskers. */
/** The white SVG canvas with its title that both charts draw in (also what the PNG export rasterizes). */
function ChartFrame(props: { title: string; metric: string; what: string; testId: string; children: ReactNode }) {
  return (
    <svg
      width={W}
      height={H}
      role="img"
      aria-label={`${props.title}: ${props.what}`}
      data-testid={props.testId}
      data-metric={props.metric}
      xmlns="http://www.w3.org/2000/svg"
      style={{ background: "#fff", color: "#222" }}
    >
      <text x={W / 2} y={14} textAnchor="middle" fontSize={12} fontWeight={600} fill="currentColor">
        {props.title}
      </text>
      {props.children}
    </svg>
  );
}

export function IntervalChart({ report, metric, title }: { report: CompareReport; metric: string; title: string }) {
  const rows = report.methods.map((m, i) => ({ m, i, s: report.table[m.id]?.[metric] })).filter((r) => r.s);
  const values = rows.flatMap((r) => [r.s?.mean ?? 0, ...(r.s?.ci95 ?? [])]).filter(Number.isFinite);
  let lo = Math.min(0, ...values);
  // Accuracies live in [0, 1]: keep that scale even when every bar is 0.
  let hi = Math.max(...values, metric.endsWith("_acc") ? 1 : lo + 1e-6);
  const pad = (hi - lo) * 0.05;
  lo = lo < 0 ? lo - pad : lo;
  hi += pad;
  const y = (v: number) => PAD.top + ((hi - v) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const band = (W - PAD.left - PAD.right) / Math.max(rows.length, 1);
  return (
    <ChartFrame title={title} metric={metric} what="mean and 95% interval per method" testId="interval-chart">
      <Axis lo={lo} hi={hi} y={y} />
      {rows.map(({ m, i, s }, k) => {
        if (!s) return null;
        const x = PAD.left + k * band + band * 0.2;
        const w = band * 0.6;
        return (
          <g key={m.id}>
            <rect
              x={x}
              y={Math.min(y(s.mean), y(0))}
              width={w}
              height={Math.abs(y(0) - y(s.mean))}
              fill={colorOf(i)}
              opacity={0.85}
            >
              <title>{`${m.label}: ${s.mean.toFixed(4)}${s.ci95 ? ` [${s.ci95[0].toFixed(4)}, ${s.ci95[1].toFixed(4)}]` : ""}`}</title>
            </rect>
            {s.ci95 && (
              <g stroke="#222" strokeWidth={1.5}>
                <line x1={x + w / 2} x2={x + w / 2} y1={y(s.ci95[0])} y2={y(s.ci95[1])} />
                <line x1={x + w / 4} x2={x + (3 * w) / 4} y1={y(s.ci95[0])} y2={y(s.ci95[0])} />
                <line x1={x + w / 4} x2={x + (3 * w) / 4} y1={y(s.ci95[1])} y2={y(s.ci95[1])} />
              </g>
            )}
            <text x={x + w / 2} y={H - PAD.bottom + 13} textAnchor="middle" fontSize={10} fill="currentColor">
              {m.label.length > 18 ? `${m.label.slice(0, 17)}…` : m.label}
            </text>
          </g>
        );
      })}
    </ChartFrame>
  );
}

/** Per-subject deltas (method − baseline) for one metric: one group of bars per subject. */
export function DeltaChart({ report, metric, title }: { report: CompareReport; metric: string; title: string }) {
  const others = report.methods.map((m, i) => ({ m, i })).filter(({ m }) => m.id !== report.baseline);
  const subjects = [...new Set(report.records.map((r) => r.subject))];
  const d = (id: string, s: string) => report.table[id]?.[metric]?.delta?.perSubject[s];
  const values = others.flatMap(({ m }) => subjects.map((s) => d(m.id, s) ?? 0));
  const ext = Math.max(1e-6, ...values.map(Math.abs)) * 1.1;
  const y = (v: number) => PAD.top + ((ext - v) / (2 * ext)) * (H - PAD.top - PAD.bottom);
  const group = (W - PAD.left - PAD.right) / Math.max(subjects.length, 1);
  const bar = (group * 0.8) / Math.max(others.length, 1);
  return (
    <ChartFrame title={title} metric={metric} what="per-subject change against the baseline" testId="delta-chart">
      <Axis lo={-ext} hi={ext} y={y} />
      <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} stroke="currentColor" />
      {subjects.map((s, k) => (
        <g key={s}>
          {others.map(({ m, i }, j) => {
            const v = d(m.id, s) ?? 0;
            const x = PAD.left + k * group + group * 0.1 + j * bar;
            return (
              <rect
                key={m.id}
                x={x}
                y={Math.min(y(v), y(0))}
                width={bar}
                height={Math.abs(y(v) - y(0))}
                fill={colorOf(i)}
              >
                <title>{`${m.label}, ${s}: ${v >= 0 ? "+" : ""}${v.toFixed(4)}`}</title>
              </rect>
            );
          })}
          <text
            x={PAD.left + (k + 0.5) * group}
            y={H - PAD.bottom + 13}
            textAnchor="middle"
            fontSize={9}
            fill="currentColor"
          >
            {s}
          </text>
        </g>
      ))}
    </ChartFrame>
  );
}

/** Rasterizes a rendered chart to PNG bytes for the report. */
export async function svgToPng(svg: SVGSVGElement, scale = 2): Promise<Uint8Array> {
  const text = new XMLSerializer().serializeToString(svg);
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  await img.decode();
  const canvas = new OffscreenCanvas(svg.width.baseVal.value * scale, svg.height.baseVal.value * scale);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("OffscreenCanvas 2D context is unavailable");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
}

/**
 * Charts of a paper report for the docs: one forest plot per metric of each method's paired Δ
 * against the base (mean and 95% interval over subjects, the report's `paired.*.vs_base`).
 *
 *   npx tsx bench/paper-charts.ts --report docs/paper-emoji64.json --out docs/paper-emoji64-delta.svg
 *     [--metrics subject_region_psnr_db,patch_quality_independent,background_acc]
 *
 * Plain SVG, so the chart renders on GitHub and in any viewer, and diffs as text.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { CompareReport } from "../src/core/metrics/report";

const DEFAULT_METRICS = ["subject_region_psnr_db", "patch_quality_independent", "background_acc"];

interface Row {
  label: string;
  mean: number;
  ci95: [number, number] | null;
}

const PANEL = { width: 300, rowHeight: 22, top: 34, bottom: 30 };
const LABEL_WIDTH = 250;

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round tick step giving about five ticks over `span`. */
function tickStep(span: number): number {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function panel(metric: string, rows: Row[], x0: number): string {
  const lo = Math.min(0, ...rows.map((r) => r.ci95?.[0] ?? r.mean));
  const hi = Math.max(0, ...rows.map((r) => r.ci95?.[1] ?? r.mean));
  const pad = (hi - lo) * 0.06 || 1;
  const [a, b] = [lo - pad, hi + pad];
  const x = (v: number) => x0 + ((v - a) / (b - a)) * PANEL.width;
  const yOf = (i: number) => PANEL.top + (i + 0.5) * PANEL.rowHeight;
  const bottom = PANEL.top + rows.length * PANEL.rowHeight;
  const parts = [
    `<text x="${x0 + PANEL.width / 2}" y="18" text-anchor="middle" font-weight="bold">Δ ${xmlEscape(metric)}</text>`,
  ];
  const step = tickStep(b - a);
  for (let t = Math.ceil(a / step) * step; t <= b; t += step) {
    const v = Math.abs(t) < step / 1e6 ? 0 : t;
    parts.push(
      `<line x1="${x(v)}" y1="${PANEL.top}" x2="${x(v)}" y2="${bottom}" stroke="${v === 0 ? "#333" : "#ddd"}"/>`,
      `<text x="${x(v)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${Number(v.toPrecision(3))}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = yOf(i);
    const decided = r.ci95 && (r.ci95[0] > 0 || r.ci95[1] < 0);
    const colour = !decided ? "#888" : r.mean > 0 ? "#1a7f37" : "#cf222e";
    if (r.ci95)
      parts.push(
        `<line x1="${x(r.ci95[0])}" y1="${y}" x2="${x(r.ci95[1])}" y2="${y}" stroke="${colour}" stroke-width="2"/>`,
      );
    parts.push(`<circle cx="${x(r.mean)}" cy="${y}" r="4" fill="${colour}"/>`);
  });
  return parts.join("\n");
}

/** The SVG of one forest plot per metric, methods as rows (the base excluded: it is the zero). */
export function deltaChart(report: CompareReport, metrics: string[]): string {
  const paired = report.paired ?? {};
  const methods = report.methods.filter((m) => paired[m.id]?.vs_base);
  if (!methods.length) throw new Error("the report has no paired deltas against the base (`paired.*.vs_base`)");
  const rowsOf = (metric: string): Row[] =>
    methods.map((m) => {
      const d = paired[m.id].vs_base?.[metric];
      if (!d) throw new Error(`the report has no paired Δ of ${metric} for ${m.id}`);
      return { label: m.label, mean: d.mean, ci95: d.ci95 };
    });
  const gap = 40;
  const width = LABEL_WIDTH + metrics.length * (PANEL.width + gap);
  const height = PANEL.top + methods.length * PANEL.rowHeight + PANEL.bottom;
  const labels = methods.map(
    (m, i) =>
      `<text x="${LABEL_WIDTH - 10}" y="${PANEL.top + (i + 0.5) * PANEL.rowHeight + 4}" text-anchor="end">${xmlEscape(m.label)}</text>`,
  );
  const panels = metrics.map((metric, k) => panel(metric, rowsOf(metric), LABEL_WIDTH + k * (PANEL.width + gap)));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...labels,
    ...panels,
    "</svg>",
    "",
  ].join("\n");
}

function main(): void {
  const { values } = parseArgs({
    options: { report: { type: "string" }, out: { type: "string" }, metrics: { type: "string" } },
  });
  if (!values.report || !values.out)
    throw new Error("usage: paper-charts.ts --report R.json --out chart.svg [--metrics a,b]");
  const report = JSON.parse(readFileSync(values.report, "utf8")) as CompareReport;
  const metrics = values.metrics ? values.metrics.split(",") : DEFAULT_METRICS;
  writeFileSync(values.out, deltaChart(report, metrics));
  console.log(`wrote ${values.out}`);
}

main();

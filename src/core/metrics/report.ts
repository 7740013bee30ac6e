/**
 * The comparison report, written by the Compare tab's export and by `npm run bench -- paper`:
 * every setting needed to rerun it, every per-image number, and the summary table.
 */
import {
  type ImageRecord,
  type MetricSummary,
  type PairedTable,
  pairedTable,
  type SummaryTable,
  summarize,
} from "./aggregate";

export const REPORT_SCHEMA = "patchdpo-compare-report";

export interface ReportMethod {
  id: string;
  label: string;
  /** How the adapter came to be: "base", a saved run's settings, an imported file… */
  source: Record<string, unknown>;
}

export interface CompareReport {
  schema: typeof REPORT_SCHEMA;
  version: 1;
  createdAt: string;
  packId: string;
  /** Subjects, prompts, seeds, sampler, evaluators, budget…: enough to rerun. */
  settings: Record<string, unknown>;
  methods: ReportMethod[];
  metrics: string[];
  baseline: string;
  averaging: string;
  interval: string;
  table: SummaryTable;
  /** Paired differences over subjects against chosen methods (PAIRED_INTERVAL), when asked for. */
  paired?: PairedTable;
  pairedInterval?: string;
  records: ImageRecord[];
}

export const AVERAGING = "per image, then per subject (mean over its prompts and seeds), then over subjects";
export const INTERVAL =
  "Student-t 95% over per-seed means (each seed averaged per subject, then over subjects); deltas paired by seed";

/** Metrics that appear in any record, in a fixed order (known keys first). */
export function metricsOf(records: ImageRecord[], order: readonly string[]): string[] {
  const seen = new Set(records.flatMap((r) => Object.keys(r.metrics)));
  return [...order.filter((k) => seen.has(k)), ...[...seen].filter((k) => !order.includes(k)).sort()];
}

export const PAIRED_INTERVAL =
  "Student-t 95% over subjects of paired differences: each method's per-subject mean (over the same prompts and seeds) minus the other's";

export function buildReport({
  pairedAgainst,
  ...o
}: Omit<CompareReport, "schema" | "version" | "table" | "averaging" | "interval" | "paired" | "pairedInterval"> & {
  /** Methods every other method is compared with, paired by subject (`paired.<method>.vs_<id>`). */
  pairedAgainst?: string[];
}): CompareReport {
  return {
    schema: REPORT_SCHEMA,
    version: 1,
    ...o,
    averaging: AVERAGING,
    interval: INTERVAL,
    table: summarize(o.records, o.metrics, o.baseline),
    ...(pairedAgainst
      ? { paired: pairedTable(o.records, o.metrics, pairedAgainst), pairedInterval: PAIRED_INTERVAL }
      : {}),
  };
}

const fmt = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : "–");

/** "0.812 [0.790, 0.834]" (or without the interval when there is none). */
export function formatInterval(s: Pick<MetricSummary, "mean" | "ci95">, digits = 3): string {
  return s.ci95 ? `${fmt(s.mean, digits)} [${fmt(s.ci95[0], digits)}, ${fmt(s.ci95[1], digits)}]` : fmt(s.mean, digits);
}

/** A Markdown table: one row per method, one column per metric, mean [95% CI] and Δ vs the baseline. */
export function markdownTable(r: CompareReport, digits = 3): string {
  const label = new Map(r.methods.map((m) => [m.id, m.label]));
  const head = `| method | ${r.metrics.join(" | ")} |`;
  const rule = `|${" --- |".repeat(r.metrics.length + 1)}`;
  const rows = r.methods.map((m) => {
    const cells = r.metrics.map((k) => {
      const s = r.table[m.id]?.[k];
      if (!s) return "–";
      const d = s.delta ? ` (Δ ${s.delta.mean >= 0 ? "+" : ""}${formatInterval(s.delta, digits)})` : "";
      return `${formatInterval(s, digits)}${d}`;
    });
    return `| ${label.get(m.id) ?? m.id} | ${cells.join(" | ")} |`;
  });
  return [head, rule, ...rows].join("\n");
}

/** A Markdown table of the paired differences: one row per method and comparison, Δ [95% CI over subjects]. */
export function pairedMarkdown(r: CompareReport, digits = 3): string {
  const label = new Map(r.methods.map((m) => [m.id, m.label]));
  const head = `| method | vs | ${r.metrics.join(" | ")} |`;
  const rule = `|${" --- |".repeat(r.metrics.length + 2)}`;
  const rows = Object.entries(r.paired ?? {}).flatMap(([method, against]) =>
    Object.entries(against).map(([vs, row]) => {
      const cells = r.metrics.map((k) => (row[k] ? formatInterval(row[k], digits) : "–"));
      return `| ${label.get(method) ?? method} | ${vs.replace(/^vs_/, "")} | ${cells.join(" | ")} |`;
    }),
  );
  return [head, rule, ...rows].join("\n");
}

/** The report's Markdown: settings, the table, and how the numbers were averaged. */
export function reportMarkdown(r: CompareReport, charts: string[] = []): string {
  const s = r.settings;
  return [
    `# Comparison on pack \`${r.packId}\``,
    "",
    `Created ${r.createdAt}. Baseline for Δ: **${r.methods.find((m) => m.id === r.baseline)?.label ?? r.baseline}**.`,
    "",
    markdownTable(r),
    "",
    `Averaging: ${r.averaging}. Intervals: ${r.interval}. All metrics are higher-is-better.`,
    "",
    "## Settings",
    "",
    "```json",
    JSON.stringify(s, null, 2),
    "```",
    "",
    "## Methods",
    "",
    ...r.methods.map((m) => `- **${m.label}** (\`${m.id}\`): \`${JSON.stringify(m.source)}\``),
    ...(charts.length ? ["", "## Charts", "", ...charts.map((c) => `![${c}](${c})`)] : []),
    "",
    "Every number is in `report.json` (`records`: one entry per generated image).",
    "",
  ].join("\n");
}

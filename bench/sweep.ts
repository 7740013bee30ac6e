/**
 * A recipe sweep on the validation subjects (issue 12, part 3): `paper --standard --validation`
 * once per grid point, every point on one dataset, one JSONL row per point.
 *
 *   npx tsx bench/sweep.ts --grid sweep.json [--out bench/out/sweep.jsonl] [--cache bench/out/datasets]
 *
 * The grid names `paper` flags without their dashes (bench/scenarios/paper.ts); a list is an axis,
 * a single value is fixed, and the points are the product of the axes in key order:
 *
 *   {"pack": "emoji64", "methods": ["patchdpo"], "lr": [3e-5, 1e-4, 3e-4], "steps": [500, 1000]}
 *
 * is 6 points of PatchDPO alone (the base is always evaluated). A `methods` value is one run's
 * comma list: `["patchdpo,dpo"]` trains both at every point, `["patchdpo", "dpo"]` is an axis.
 * The first point builds the dataset and caches it under `--cache`, keyed by everything that
 * determines it (paper-dataset.ts); every other point, and later sweeps, read it from there.
 * Each row holds the point, its flags, the report it wrote and each method's paired Δ against the
 * base (mean and 95% interval over subjects) on SWEEP_METRICS. A point whose row is already in
 * the output is skipped, so a stopped sweep resumes where it stopped; the table of every point is
 * printed at the end.
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CompareReport } from "../src/core/metrics/report";
import { type Overrides, PAPER_FLAGS, type PaperOptions, paperOptions, runPaper } from "./scenarios/paper";

export const SWEEP_METRICS = ["subject_region_psnr_db", "patch_quality_independent", "patch_quality"] as const;

type Value = string | number;
export type Grid = Record<string, Value | Value[]>;
export type Point = Record<string, Value>;

/** Flags the sweep sets itself. */
const RESERVED = ["standard", "full", "validation", "out", "dataset-cache"];

/** The product of the grid's axes, in key order (the last key varies fastest). */
export function gridPoints(grid: Grid): Point[] {
  const reserved = Object.keys(grid).filter((k) => RESERVED.includes(k));
  if (reserved.length) throw new Error(`the sweep sets --${reserved.join(", --")} itself: drop it from the grid`);
  const unknown = Object.keys(grid).filter((k) => !PAPER_FLAGS.includes(k));
  if (unknown.length)
    throw new Error(`grid keys ${unknown.join(", ")} are not paper flags (${PAPER_FLAGS.join(", ")})`);
  return Object.entries(grid).reduce<Point[]>(
    (points, [key, v]) => {
      const values = Array.isArray(v) ? v : [v];
      if (!values.length) throw new Error(`grid axis ${key} has no values`);
      return points.flatMap((p) => values.map((x) => ({ ...p, [key]: x })));
    },
    [{}],
  );
}

const pointArgs = (p: Point): string[] => Object.entries(p).flatMap(([k, v]) => [`--${k}`, String(v)]);

interface Delta {
  mean: number;
  ci95: [number, number] | null;
}

export interface SweepRow {
  /** The paper flags of the point, which identify it. */
  args: string[];
  point: Point;
  pack: string;
  evaluated_on: string;
  overrides: Overrides;
  report: string;
  /** The cached dataset zip and whether this point read it from the cache. */
  dataset: { file?: string; cached?: boolean };
  /** method → metric → paired Δ against the base over subjects. */
  delta_vs_base: Record<string, Record<string, Delta>>;
  seconds: number;
}

function deltas(report: CompareReport): SweepRow["delta_vs_base"] {
  const out: SweepRow["delta_vs_base"] = {};
  for (const [method, against] of Object.entries(report.paired ?? {})) {
    const vs = against.vs_base;
    if (!vs) continue;
    out[method] = Object.fromEntries(
      SWEEP_METRICS.filter((k) => vs[k]).map((k) => [k, { mean: vs[k].mean, ci95: vs[k].ci95 }]),
    );
  }
  return out;
}

function readRows(path: string): SweepRow[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SweepRow);
}

export interface SweepOptions {
  grid: Grid;
  /** The JSONL file rows are appended to. */
  out: string;
  /** Where the shared dataset is cached. */
  cache: string;
}

interface Plan {
  point: Point;
  args: string[];
  options: PaperOptions;
}

/** Every point's paper options, parsed before anything runs so that a bad value fails at once. */
function plans(o: SweepOptions): Plan[] {
  const reports = join(dirname(o.out), `${basename(o.out, ".jsonl")}-reports`);
  return gridPoints(o.grid).map((point) => {
    const args = ["--standard", "--validation", ...pointArgs(point)];
    const report = join(reports, `${createHash("sha256").update(args.join(" ")).digest("hex").slice(0, 12)}.json`);
    return { point, args, options: { ...paperOptions([...args, "--out", report]), datasetCache: o.cache } };
  });
}

/** Runs every point not yet in `out`; resolves with the rows of every point, in grid order. */
export async function runSweep(o: SweepOptions): Promise<SweepRow[]> {
  const done = new Map(readRows(o.out).map((r) => [r.args.join(" "), r]));
  const rows: SweepRow[] = [];
  const all = plans(o);
  for (const [i, { point, args, options }] of all.entries()) {
    const key = args.join(" ");
    const known = done.get(key);
    if (known) {
      console.error(`[sweep] point ${i + 1}/${all.length} is in ${o.out}: skipped`);
      rows.push(known);
      continue;
    }
    console.error(`[sweep] point ${i + 1}/${all.length}: ${key}`);
    const started = performance.now();
    const result = await runPaper(options);
    const { file, cached } = (result.report.settings.training as { dataset: SweepRow["dataset"] }).dataset;
    const row: SweepRow = {
      args,
      point,
      pack: options.pack,
      evaluated_on: String(result.report.settings.evaluated_on),
      overrides: options.overrides ?? {},
      report: options.out,
      dataset: { file, cached },
      delta_vs_base: deltas(result.report),
      seconds: (performance.now() - started) / 1000,
    };
    mkdirSync(dirname(o.out), { recursive: true });
    appendFileSync(o.out, `${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  return rows;
}

const fmt = (d: Delta | undefined) =>
  d ? `${d.mean.toFixed(3)} [${d.ci95 ? d.ci95.map((v) => v.toFixed(3)).join(", ") : "–"}]` : "–";

/** One Markdown row per point and trained method: the axes, then Δ vs base [95%] per metric. */
export function sweepTable(grid: Grid, rows: SweepRow[]): string {
  const axes = Object.keys(grid).filter((k) => Array.isArray(grid[k]) && (grid[k] as Value[]).length > 1);
  const head = [...axes, "method", ...SWEEP_METRICS.map((m) => `Δ ${m}`)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`];
  for (const r of rows)
    for (const [method, d] of Object.entries(r.delta_vs_base)) {
      const cells = [...axes.map((a) => String(r.point[a])), method, ...SWEEP_METRICS.map((m) => fmt(d[m]))];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  return lines.join("\n");
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const gridFile = flag("grid");
  if (!gridFile) throw new Error("usage: npx tsx bench/sweep.ts --grid sweep.json [--out FILE.jsonl] [--cache DIR]");
  const grid = JSON.parse(readFileSync(gridFile, "utf8")) as Grid;
  const out = flag("out") ?? "bench/out/sweep.jsonl";
  const rows = await runSweep({ grid, out, cache: flag("cache") ?? "bench/out/datasets" });
  console.log(`\nSweep on validation subjects (${rows.length} points; rows in ${out}):\n`);
  console.log(sweepTable(grid, rows));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error((e as Error).stack ?? e);
    process.exit(1);
  });
}

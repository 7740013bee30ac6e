/**
 * Averaging as in the official evaluation code (DreamBench): per image, then per subject (mean
 * over its prompts and seeds), then over subjects. Confidence intervals are Student-t 95%
 * intervals over seeds: for each seed, the per-subject-then-over-subjects mean of the images with
 * that seed; the interval is `mean ± t_{0.975, n−1} · sd / √n` over those n per-seed means (none
 * with one seed). Deltas against a baseline method pair the methods seed by seed (images share
 * their initial noise), so their interval is over per-seed differences.
 */

export interface ImageRecord {
  method: string;
  subject: string;
  /** A stable key of the prompt (e.g. its JSON). */
  prompt: string;
  seed: number;
  metrics: Record<string, number>;
}

export interface Interval {
  mean: number;
  /** [low, high] of the 95% t-interval over seeds; null with fewer than two seeds. */
  ci95: [number, number] | null;
  /** Number of per-seed values the interval is over. */
  n: number;
}

export interface MetricSummary extends Interval {
  perSeed: Record<string, number>;
  perSubject: Record<string, number>;
  /** This method minus the baseline: overall (paired by seed) and per subject. */
  delta?: Interval & { perSubject: Record<string, number> };
}

/** method → metric → summary. */
export type SummaryTable = Record<string, Record<string, MetricSummary>>;

/** Two-sided 95% Student-t quantiles for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  // Beyond the table: the Cornish–Fisher first-order correction of the normal quantile.
  return df <= T975.length ? T975[df - 1] : 1.959964 + 2.372272 / df;
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Mean and 95% t-interval of independent values. */
export function tInterval(values: number[]): Interval {
  const n = values.length;
  if (!n) return { mean: Number.NaN, ci95: null, n: 0 };
  const m = mean(values);
  if (n < 2) return { mean: m, ci95: null, n };
  const sd = Math.sqrt(values.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  const h = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { mean: m, ci95: [m - h, m + h], n };
}

/** Per-subject means of a metric over the given records (records lacking the metric are skipped). */
export function subjectMeans(records: ImageRecord[], metric: string): Record<string, number> {
  const by = new Map<string, number[]>();
  for (const r of records) {
    const v = r.metrics[metric];
    if (v === undefined || Number.isNaN(v)) continue;
    const list = by.get(r.subject) ?? [];
    list.push(v);
    by.set(r.subject, list);
  }
  return Object.fromEntries([...by].map(([s, vs]) => [s, mean(vs)]));
}

/** The official average: per subject, then over subjects. */
export function overall(records: ImageRecord[], metric: string): number {
  const per = Object.values(subjectMeans(records, metric));
  return per.length ? mean(per) : Number.NaN;
}

/** The overall average of each seed's images, by seed. */
export function perSeed(records: ImageRecord[], metric: string): Record<string, number> {
  const seeds = [...new Set(records.map((r) => r.seed))].sort((a, b) => a - b);
  return Object.fromEntries(
    seeds.map((s) => [
      String(s),
      overall(
        records.filter((r) => r.seed === s),
        metric,
      ),
    ]),
  );
}

/**
 * The table of every method and metric. `mean` is the overall average of all images (equal to the
 * mean of the per-seed averages when every subject has every seed); `baseline` adds deltas.
 */
export function summarize(records: ImageRecord[], metrics: string[], baseline?: string): SummaryTable {
  // The baseline first, so every other method can take its delta.
  const methods = [...new Set(records.map((r) => r.method))].sort(
    (a, b) => Number(b === baseline) - Number(a === baseline),
  );
  const of = (m: string) => records.filter((r) => r.method === m);
  const table: SummaryTable = {};
  for (const method of methods) {
    table[method] = {};
    for (const metric of metrics) {
      const mine = of(method);
      const seeds = perSeed(mine, metric);
      const s: MetricSummary = {
        ...tInterval(Object.values(seeds).filter((v) => !Number.isNaN(v))),
        mean: overall(mine, metric),
        perSeed: seeds,
        perSubject: subjectMeans(mine, metric),
      };
      if (baseline && baseline !== method && table[baseline]) {
        const base = table[baseline][metric];
        const diffs = Object.keys(seeds)
          .filter((k) => k in base.perSeed && !Number.isNaN(seeds[k]) && !Number.isNaN(base.perSeed[k]))
          .map((k) => seeds[k] - base.perSeed[k]);
        const perSubject = Object.fromEntries(
          Object.entries(s.perSubject)
            .filter(([k]) => k in base.perSubject)
            .map(([k, v]) => [k, v - base.perSubject[k]]),
        );
        s.delta = { ...tInterval(diffs), mean: s.mean - base.mean, perSubject };
      }
      if (!Number.isNaN(s.mean)) table[method][metric] = s;
    }
  }
  return table;
}

/** method → `vs_<other>` → metric → the paired difference over subjects. */
export type PairedTable = Record<string, Record<string, Record<string, Interval>>>;

/**
 * `method` minus `other`, paired by subject: each method's per-subject means (over the same
 * prompts and seeds), their differences, and the t-interval over those differences (n subjects).
 */
export function pairedOverSubjects(records: ImageRecord[], metric: string, method: string, other: string): Interval {
  const mine = subjectMeans(
    records.filter((r) => r.method === method),
    metric,
  );
  const theirs = subjectMeans(
    records.filter((r) => r.method === other),
    metric,
  );
  return tInterval(
    Object.keys(mine)
      .filter((s) => s in theirs)
      .map((s) => mine[s] - theirs[s]),
  );
}

/** Every method against each of `others` (that ran and is not itself), on every metric both have. */
export function pairedTable(records: ImageRecord[], metrics: string[], others: string[]): PairedTable {
  const methods = [...new Set(records.map((r) => r.method))];
  const table: PairedTable = {};
  for (const method of methods) {
    table[method] = {};
    for (const other of others.filter((o) => o !== method && methods.includes(o))) {
      const row: Record<string, Interval> = {};
      for (const metric of metrics) {
        const d = pairedOverSubjects(records, metric, method, other);
        if (d.n) row[metric] = d;
      }
      table[method][`vs_${other}`] = row;
    }
  }
  return table;
}

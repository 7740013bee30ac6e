/**
 * The Train tab's loss and weighted-error curves from a run's StepReports. The per-item weighted
 * errors of monitor steps (`StepReport.itemErrors`) are split role by role; items come draw by
 * draw (steps.ts `mergeSteps`), so each role is averaged over the step's draws. One-subject losses
 * with the reference term give [reference, generated] per draw. Two-subject runs with it alternate
 * a step on the generated image (one item per draw) with a step on both references (two), and each
 * report names its part (`StepReport.part`).
 */
import type { StepReport, TrainConfig } from "./loop";

export interface ChartSeries {
  label: string;
  /** One value per report; null where the step did not measure this role. */
  values: (number | null)[];
}

interface Role {
  label: string;
  /** Items per draw of the steps that hold this role, and the role's place among them. */
  items: number;
  k: number;
}

/** Draws per step, over which each role is averaged. */
export const drawsOf = (config: TrainConfig) => Math.max(1, config.batchSize ?? 1);

const twoSubject = (history: StepReport[]) => history.some((r) => r.part !== undefined);

function roles(history: StepReport[], config: TrainConfig, draws: number): Role[] {
  const most = Math.max(0, ...history.map((r) => (r.itemErrors?.length ?? 0) / draws));
  if (twoSubject(history))
    return [
      { label: "generated", items: 1, k: 0 },
      { label: "reference A", items: 2, k: 0 },
      { label: "reference B", items: 2, k: 1 },
    ];
  const named = most === 2 && config.loss.useReference ? ["reference", "generated"] : [];
  return Array.from({ length: most }, (_, k) => ({ label: named[k] ?? `item ${k + 1}`, items: most, k }));
}

/** The loss, every step; a two-subject run's two parts, whose losses differ in size, as two curves. */
export function lossSeries(history: StepReport[]): ChartSeries[] {
  if (!twoSubject(history)) return [{ label: "loss", values: history.map((r) => r.loss) }];
  const part = (p: StepReport["part"]) => history.map((r) => (r.part === p ? r.loss : null));
  return [
    { label: "generated steps", values: part("generated") },
    { label: "reference steps", values: part("references") },
  ];
}

export function itemErrorSeries(history: StepReport[], config: TrainConfig): ChartSeries[] {
  const draws = drawsOf(config);
  return roles(history, config, draws).map(({ label, items, k }) => ({
    label,
    values: history.map(({ itemErrors: e }) => {
      if (e?.length !== items * draws) return null;
      let sum = 0;
      for (let d = 0; d < draws; d++) sum += e[d * items + k];
      return sum / draws;
    }),
  }));
}

/**
 * The live curves of a run from its StepReports: loss every step; the DPO reward margin or the
 * per-item weighted errors, and the gradient norm, on monitor steps; the learning rate.
 */
import { useMemo } from "react";
import type { StepReport, TrainConfig } from "../../../core/training/loop";
import { MetricChart, type Series } from "./MetricChart";

export function TrainCharts({ history, config }: { history: StepReport[]; config: TrainConfig }) {
  const charts = useMemo(() => {
    const x = history.map((r) => r.step);
    const of = (f: (r: StepReport) => number | undefined) => history.map((r) => f(r) ?? null);
    const one = (label: string, f: (r: StepReport) => number | undefined): Series[] => [{ label, values: of(f) }];
    // Items come draw by draw (core/training/steps.ts mergeSteps); each role is averaged over the draws.
    const draws = Math.max(1, config.batchSize ?? 1);
    const perDraw = Math.max(0, ...history.map((r) => r.itemErrors?.length ?? 0)) / draws;
    const itemLabels =
      perDraw === 2 && config.loss.useReference
        ? ["reference", "generated"]
        : Array.from({ length: perDraw }, (_, i) => `item ${i + 1}`);
    const roleMean = (r: StepReport, k: number) => {
      const e = r.itemErrors;
      return e && Array.from({ length: draws }, (_, d) => e[d * perDraw + k]).reduce((a, b) => a + b, 0) / draws;
    };
    const second = history.some((r) => r.margin !== undefined)
      ? { title: "reward margin", series: one("margin", (r) => r.margin) }
      : {
          title: draws > 1 ? `weighted error (mean of ${draws} draws)` : "weighted error",
          series: itemLabels.map((label, k) => ({ label, values: of((r) => roleMean(r, k)) })),
        };
    return {
      x,
      list: [
        { title: "loss", series: one("loss", (r) => r.loss) },
        second,
        { title: "gradient norm", series: one("‖∇L‖", (r) => r.gradNorm) },
        { title: "learning rate", series: one("lr", (r) => r.lr) },
      ],
    };
  }, [history, config]);
  return (
    <div className="train-charts" data-testid="train-charts">
      {charts.list.map((c) => (
        <MetricChart
          key={c.title}
          title={c.title}
          x={charts.x}
          series={c.series.length ? c.series : [{ label: "—", values: [] }]}
        />
      ))}
    </div>
  );
}

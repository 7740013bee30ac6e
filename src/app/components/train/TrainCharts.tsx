/**
 * The live curves of a run from its StepReports: loss every step; the DPO reward margin or the
 * per-item weighted errors, and the gradient norm, on monitor steps; the learning rate. A
 * two-subject run's loss and errors are split by part (core/training/chart-series.ts).
 */
import { useMemo } from "react";
import { drawsOf, itemErrorSeries, lossSeries } from "../../../core/training/chart-series";
import type { StepReport, TrainConfig } from "../../../core/training/loop";
import { MetricChart, type Series } from "./MetricChart";

export function TrainCharts({ history, config }: { history: StepReport[]; config: TrainConfig }) {
  const charts = useMemo(() => {
    const x = history.map((r) => r.step);
    const of = (f: (r: StepReport) => number | undefined) => history.map((r) => f(r) ?? null);
    const one = (label: string, f: (r: StepReport) => number | undefined): Series[] => [{ label, values: of(f) }];
    const draws = drawsOf(config);
    const second = history.some((r) => r.margin !== undefined)
      ? { title: "reward margin", series: one("margin", (r) => r.margin) }
      : {
          title: draws > 1 ? `weighted error (mean of ${draws} draws)` : "weighted error",
          series: itemErrorSeries(history, config),
        };
    return {
      x,
      list: [
        { title: "loss", series: lossSeries(history) },
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

/** Summary table, interval and per-subject delta charts, and the report export. */
import { useRef, useState } from "react";
import type { CompareReport } from "../../../core/metrics/report";
import { formatInterval } from "../../../core/metrics/report";
import { download } from "../../download";
import { METRIC_LABELS } from "../../stores/compare";
import { DeltaChart, IntervalChart } from "./charts";
import { reportZip } from "./export";

export function CompareResults({ report }: { report: CompareReport }) {
  const charts = useRef<HTMLDivElement>(null);
  const [deltaMetric, setDeltaMetric] = useState(report.metrics[0]);
  const [error, setError] = useState<string>();
  const exportZip = async () => {
    setError(undefined);
    try {
      if (!charts.current) throw new Error("the charts are not rendered");
      download(
        await reportZip(report, charts.current),
        `compare-${report.packId}-${report.createdAt.replace(/[:.]/g, "-")}.zip`,
        "application/zip",
      );
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const label = (k: string) => METRIC_LABELS[k] ?? k;
  return (
    <section className="panel compare-results" aria-label="Comparison results">
      <div className="row">
        <h3>Results</h3>
        <button type="button" onClick={() => void exportZip()}>
          Export report (zip)
        </button>
      </div>
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
      <div className="table-scroll">
        <table className="compare-summary" data-testid="compare-summary">
          <thead>
            <tr>
              <th>method</th>
              {report.metrics.map((k) => (
                <th key={k}>{label(k)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.methods.map((m) => (
              <tr key={m.id}>
                <th>{m.label}</th>
                {report.metrics.map((k) => {
                  const s = report.table[m.id]?.[k];
                  return (
                    <td key={k}>
                      {s ? formatInterval(s) : "–"}
                      {s?.delta && (
                        <div className={s.delta.mean >= 0 ? "delta up" : "delta down"}>
                          Δ {s.delta.mean >= 0 ? "+" : ""}
                          {formatInterval(s.delta)}
                        </div>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted">
        Mean [95% interval]. Averaging: {report.averaging}. Intervals: {report.interval}.
      </p>
      <div ref={charts} className="compare-charts">
        {report.metrics.map((k) => (
          <IntervalChart key={k} report={report} metric={k} title={label(k)} />
        ))}
        {report.methods.length > 1 && (
          <DeltaChart
            report={report}
            metric={deltaMetric}
            title={`Δ per subject vs ${report.methods[0].label}: ${label(deltaMetric)}`}
          />
        )}
      </div>
      <label>
        Per-subject deltas of{" "}
        <select aria-label="Delta metric" value={deltaMetric} onChange={(e) => setDeltaMetric(e.target.value)}>
          {report.metrics.map((k) => (
            <option key={k} value={k}>
              {label(k)}
            </option>
          ))}
        </select>
      </label>
    </section>
  );
}

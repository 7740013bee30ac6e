/** Compare tab: adapters side by side on held-out subjects with the same seeds and noise, metrics, charts, report. */
import { useEffect } from "react";
import { useAdapters } from "../../stores/adapters";
import { useCompare } from "../../stores/compare";
import { useActivePack } from "../../stores/packs";
import { CompareForm } from "./CompareForm";
import { CompareGrid } from "./CompareGrid";
import { CompareResults } from "./CompareResults";
import "./compare.css";

export function CompareTab() {
  const pack = useActivePack({ role: "patch_encoder" });
  const { form, status, progress, error, report, cells } = useCompare();
  const list = useAdapters((s) => s.list);
  useEffect(() => {
    if (pack) useCompare.getState().initForm(pack);
  }, [pack]);
  if (!pack) {
    return <p className="muted">No pack with a patch encoder is loaded. Load one in the Models tab.</p>;
  }
  const adapters = report ? report.methods.map((m) => m.id) : (form?.adapters ?? []);
  const labels = Object.fromEntries(list.map((a) => [a.id, a.source === "base" ? "base" : a.label]));
  return (
    <div className="compare">
      <CompareForm pack={pack} />
      <div className="compare-main">
        {status === "running" && (
          <div className="compare-progress" data-testid="compare-progress">
            <progress max={progress.total} value={progress.done} /> {progress.done} / {progress.total} cells
          </div>
        )}
        {status === "cancelled" && <p className="muted">Cancelled after {progress.done} cells.</p>}
        {error && (
          <div className="error-box" role="alert" data-testid="compare-error">
            {error}
          </div>
        )}
        {report && <CompareResults report={report} />}
        {cells.length > 0 && <CompareGrid adapters={adapters} labels={labels} />}
        {!cells.length && status === "idle" && (
          <p className="muted">
            Choose two or more adapters, held-out subjects and seeds, then Compare. Every adapter draws each cell from
            the same initial noise, so differences come from the adapters.
          </p>
        )}
      </div>
    </div>
  );
}

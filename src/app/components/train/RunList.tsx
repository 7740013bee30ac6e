/**
 * Saved runs of the pack with their settings and stored checkpoints: show curves, resume, export
 * the adapter as safetensors, delete; a run another tab trains says which tab.
 */
import type { Manifest } from "../../../core/pack";
import { useTraining } from "../../stores/training";

export function RunList({ manifest }: { manifest: Manifest }) {
  const { runs, active } = useTraining();
  const t = useTraining.getState();
  const busy = active?.status === "running" || active?.status === "starting";
  return (
    <section>
      <h3>Saved runs</h3>
      <table data-testid="saved-runs">
        <thead>
          <tr>
            <th>run</th>
            <th>method</th>
            <th>settings</th>
            <th>steps</th>
            <th>status</th>
            <th>checkpoints</th>
            <th>last loss</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-status={r.status} data-run-id={r.id} aria-selected={active?.runId === r.id}>
              <td>{r.id}</td>
              <td>{r.config.loss.method}</td>
              <td className="muted">
                lr {r.config.lr}, β {r.config.loss.beta}, wd {r.config.weightDecay}
                {r.config.loss.useReference ? ", ref term" : ""}, {r.config.loss.weights.normalize}
              </td>
              <td>
                {r.history.length} / {r.config.steps}
              </td>
              <td title={r.message}>
                {r.status}
                {r.heldBy && <span className="muted"> in tab {r.heldBy}</span>}
              </td>
              <td className="muted" data-testid="run-checkpoints">
                {r.checkpoints.map((c) => c.step).join(", ") || "—"}
              </td>
              <td>{r.history.at(-1)?.loss.toPrecision(5) ?? "—"}</td>
              <td>
                <button type="button" disabled={busy} onClick={() => void t.view(r.id)}>
                  Curves
                </button>{" "}
                {(r.status === "paused" || r.status === "interrupted") && (
                  <button type="button" disabled={busy} onClick={() => void t.resume(manifest, r.id)}>
                    Resume
                  </button>
                )}{" "}
                <button type="button" disabled={r.history.length === 0} onClick={() => void t.exportAdapter(r.id)}>
                  Export adapter
                </button>{" "}
                <button
                  type="button"
                  disabled={!!r.heldBy || (busy && active?.runId === r.id)}
                  onClick={() => {
                    if (confirm(`Delete run ${r.id}, its checkpoints and its copy of the dataset?`))
                      void t.deleteRun(manifest.id, r.id);
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

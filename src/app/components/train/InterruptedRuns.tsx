/**
 * A banner for each saved run of the pack that was interrupted (its page closed or reloaded or its
 * worker ended mid-run, a lost device, a full storage quota): the run, why, its last checkpoint
 * and a Resume button that continues from that checkpoint.
 */
import type { Manifest } from "../../../core/pack";
import { useTraining } from "../../stores/training";

export function InterruptedRuns({ manifest }: { manifest: Manifest }) {
  const { runs, active, dismissed } = useTraining();
  const t = useTraining.getState();
  const busy = active?.status === "running" || active?.status === "starting";
  const interrupted = runs.filter((r) => r.status === "interrupted" && !dismissed.includes(r.id));
  if (interrupted.length === 0) return null;
  return (
    <div className="interrupted-runs">
      {interrupted.map((r) => {
        const checkpoint = r.checkpoints.at(-1)?.step ?? 0;
        return (
          <div key={r.id} role="alert" className="interrupted-run" data-testid="interrupted-run" data-run-id={r.id}>
            Run <strong>{r.id}</strong> ({r.config.loss.method}) was interrupted
            {r.message && <span className="muted"> ({r.message})</span>}. Its last checkpoint is at{" "}
            <strong data-testid="interrupted-checkpoint">step {checkpoint}</strong> of {r.config.steps}; Resume
            continues from there.{" "}
            <button type="button" disabled={busy} onClick={() => void t.resume(manifest, r.id)}>
              Resume
            </button>{" "}
            <button type="button" onClick={() => t.dismiss(r.id)}>
              Dismiss
            </button>
          </div>
        );
      })}
    </div>
  );
}

/** Runs each role of a loaded pack once on zero inputs and shows output shapes and times. */
import { useState } from "react";
import type { Manifest } from "../../core/pack";
import { type RoleRun, usePacks } from "../stores/packs";

export function RunCheck({ packId, manifest }: { packId: string; manifest: Manifest }) {
  const [runs, setRuns] = useState<RoleRun[]>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setRuns(await usePacks.getState().runEachRole(packId, manifest));
    setBusy(false);
  };
  return (
    <div className="run-check">
      <button type="button" disabled={busy} onClick={() => void run()}>
        {busy ? "Running…" : "Run each model once"}
      </button>
      {runs && (
        <ul aria-label="Model runs">
          {runs.map((r) => (
            <li key={r.role} data-role={r.role} data-ok={r.ok} className={r.ok ? "" : "warning"}>
              {r.role}: {r.text}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

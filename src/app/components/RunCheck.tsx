/** Runs each role of a loaded pack once on zero inputs and shows output shapes and times. */
import { useState } from "react";
import { concreteShape, type Manifest, ROLE_NAMES, zeroFeeds } from "../../core/pack";
import { inference } from "../services/workers";

interface RoleRun {
  role: string;
  text: string;
  ok: boolean;
}

async function runRoles(packId: string, manifest: Manifest): Promise<RoleRun[]> {
  const results: RoleRun[] = [];
  for (const role of ROLE_NAMES) {
    const spec = manifest.roles[role];
    if (!spec) continue;
    const started = performance.now();
    try {
      const out = await inference.call((api) => api.run(packId, role, zeroFeeds(spec.inputs)));
      const ms = Math.round(performance.now() - started);
      const shapes = spec.outputs.map((t) => {
        const got = out[t.name];
        const ok = got && got.dims.join() === concreteShape(t.shape, 1).join();
        return { ok, text: `${t.name} ${got ? `[${got.dims.join(", ")}]` : "missing"}` };
      });
      results.push({
        role,
        ok: shapes.every((s) => s.ok),
        text: `${shapes.map((s) => s.text).join(", ")} in ${ms} ms`,
      });
    } catch (e) {
      results.push({ role, ok: false, text: `failed: ${(e as Error).message}` });
    }
  }
  return results;
}

export function RunCheck({ packId, manifest }: { packId: string; manifest: Manifest }) {
  const [runs, setRuns] = useState<RoleRun[]>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setRuns(await runRoles(packId, manifest));
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

/** Adapters imported with a training log (e.g. trained by torchrun in the foundry): their settings and curves. */
import { useState } from "react";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../../../core/training/loop";
import { importedChoiceId, useAdapters, usePackAdapters } from "../../stores/adapters";
import { ImportAdapterButton } from "../ImportAdapterButton";
import { TrainCharts } from "./TrainCharts";

/** The run configuration recorded in the adapter's metadata, over the defaults. */
function configOf(metadata: Record<string, string>): TrainConfig {
  try {
    const c = JSON.parse(metadata.config ?? "{}") as Partial<TrainConfig>;
    return { ...DEFAULT_TRAIN_CONFIG, ...c, loss: { ...DEFAULT_TRAIN_CONFIG.loss, ...c.loss } };
  } catch {
    return DEFAULT_TRAIN_CONFIG;
  }
}

export function ImportedRuns({ packId }: { packId: string }) {
  const { error, setError } = usePackAdapters(packId); // keeps the imported list fresh for this pack
  const imported = useAdapters((s) => s.imported).filter((a) => a.packId === packId && a.history?.length);
  const [shown, setShown] = useState<string>();
  const viewing = imported.find((a) => importedChoiceId(a.id) === shown);
  return (
    <section>
      <h3>Imported runs</h3>
      <p className="muted">
        An adapter trained outside the studio (e.g. <code>torchrun … -m foundry train-adapter</code>): choose its
        .safetensors together with its log.jsonl.
      </p>
      <ImportAdapterButton packId={packId} onImported={(c) => setShown(c.id)} onError={setError} />
      {error && (
        <div className="error-box" role="alert" data-testid="imported-run-error">
          {error}
        </div>
      )}
      {imported.length > 0 && (
        <table data-testid="imported-runs">
          <thead>
            <tr>
              <th>adapter</th>
              <th>method</th>
              <th>trained on</th>
              <th>steps</th>
              <th>last loss</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {imported.map((a) => {
              const c = configOf(a.metadata);
              return (
                <tr key={a.id} data-imported-id={a.id}>
                  <td>{a.label}</td>
                  <td>{c.loss.method}</td>
                  <td className="muted">
                    {a.metadata.backend ?? "unknown"}, {c.batchSize} draw(s) per step, lr {c.lr}
                  </td>
                  <td>{a.history?.at(-1)?.step}</td>
                  <td>{a.history?.at(-1)?.loss.toPrecision(5)}</td>
                  <td>
                    <button type="button" onClick={() => setShown(importedChoiceId(a.id))}>
                      Curves
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {viewing?.history && <TrainCharts history={viewing.history} config={configOf(viewing.metadata)} />}
    </section>
  );
}

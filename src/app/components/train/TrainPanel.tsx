/**
 * Train tab: builds a small preference dataset from the loaded pack's training subjects (core
 * buildDataset over the inference worker's sessions), then trains an adapter in the training
 * worker with a chosen loss, with pause / resume (runs resume from their IndexedDB checkpoint)
 * and a live loss chart.
 */
import { useEffect, useState } from "react";
import type { RunRecord, TrainingApi } from "../../../../workers/training-api";
import { buildDataset } from "../../../core/dataset/build";
import { meanQuality, type PreferenceDataset } from "../../../core/dataset/types";
import { imageToTensor, type RunRole } from "../../../core/generate";
import { DEFAULT_TRAIN_CONFIG, type StepReport } from "../../../core/training/loop";
import { METHODS, type Method } from "../../../core/training/losses";
import { callback, inference, training } from "../../services/workers";
import { usePacks } from "../../stores/packs";
import { LossChart } from "./LossChart";

const SAMPLER = { steps: 10, sampler: "ddim" as const, guidanceImage: 3, guidancePrompt: 2, ipScale: 1 };

export function TrainPanel() {
  const pack = Object.values(usePacks((s) => s.loaded))[0];
  const [dataset, setDataset] = useState<PreferenceDataset>();
  const [building, setBuilding] = useState("");
  const [method, setMethod] = useState<Method>("patchdpo");
  const [lr, setLr] = useState(1e-3);
  const [steps, setSteps] = useState(20);
  const [runId, setRunId] = useState<string>();
  const [history, setHistory] = useState<StepReport[]>([]);
  const [status, setStatus] = useState<RunRecord["status"] | "idle">("idle");
  const [message, setMessage] = useState<string>();
  const [saved, setSaved] = useState<Awaited<ReturnType<TrainingApi["runs"]>>>([]);
  const refreshRuns = () => training.call((api) => api.runs()).then(setSaved);
  // biome-ignore lint/correctness/useExhaustiveDependencies: list the stored runs once on mount
  useEffect(() => void refreshRuns(), []);

  if (!pack) return <p>Load a pack on the Models tab to build a dataset and train.</p>;
  const { manifest } = pack;

  const build = async () => {
    const run: RunRole = (role, feeds) => inference.call((api) => api.run(manifest.id, role, feeds));
    const subjects = manifest.gallery?.train ?? [];
    const references = [];
    for (const s of subjects) {
      const image = await inference.call((api) => api.galleryReference(manifest.id, s.id));
      references.push({ id: s.id, tensor: imageToTensor(image, manifest.image, s.id) });
    }
    const adapter = await training.call((api) => api.baseAdapter(manifest.id));
    const ds = await buildDataset({
      run,
      manifest,
      adapter,
      references,
      prompts: [{}],
      seeds: [1],
      sampler: SAMPLER,
      onSample: (done, total) => setBuilding(`${done} / ${total} images`),
    });
    setBuilding("");
    setDataset(ds);
  };

  const train = async (id: string) => {
    if (!dataset) return;
    setRunId(id);
    setStatus("running");
    const config = { ...DEFAULT_TRAIN_CONFIG, lr, steps, loss: { ...DEFAULT_TRAIN_CONFIG.loss, method } };
    const record = await training.call((api) =>
      api.train(
        id,
        manifest.id,
        dataset,
        config,
        callback((e) => {
          if (e.kind === "step") setHistory((h) => [...h, e.report]);
        }),
      ),
    );
    setHistory(record.history);
    setStatus(record.status);
    setMessage(record.message);
    await refreshRuns();
  };

  const running = status === "running";
  return (
    <section className="train-panel">
      <h3>Dataset</h3>
      <button type="button" disabled={!!building} onClick={() => void build()}>
        Build dataset from the training subjects
      </button>
      {building && <span> generating {building}</span>}
      {dataset && (
        <p data-testid="dataset-summary">
          {dataset.samples.length} generated images of {dataset.references.length} references, mean patch quality{" "}
          {(dataset.samples.reduce((s, x) => s + meanQuality(x), 0) / dataset.samples.length).toFixed(3)}
        </p>
      )}
      <h3>Training</h3>
      <label>
        Method{" "}
        <select value={method} onChange={(e) => setMethod(e.target.value as Method)}>
          {METHODS.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>{" "}
      <label>
        Learning rate <input type="number" step="any" value={lr} onChange={(e) => setLr(Number(e.target.value))} />
      </label>{" "}
      <label>
        Steps <input type="number" value={steps} onChange={(e) => setSteps(Number(e.target.value))} />
      </label>
      <p className="muted">
        AdamW, weight decay 0.01. The official code uses lr 3e-5; small packs may want a larger rate to move in a few
        steps.
      </p>
      <button type="button" disabled={!dataset || running} onClick={() => void train(`run-${Date.now()}`)}>
        Start
      </button>{" "}
      <button
        type="button"
        disabled={!running || !runId}
        onClick={() => void training.call((api) => api.pause(runId ?? ""))}
      >
        Pause
      </button>{" "}
      <button type="button" disabled={running || status !== "paused" || !runId} onClick={() => void train(runId ?? "")}>
        Resume
      </button>
      <p data-testid="train-status" data-status={status}>
        Status: {status}
        {message && <strong> — {message}</strong>}
      </p>
      <LossChart label="loss" values={history.map((r) => ({ step: r.step, value: r.loss }))} />
      <h3>Saved runs</h3>
      <table data-testid="saved-runs">
        <thead>
          <tr>
            <th>run</th>
            <th>method</th>
            <th>lr</th>
            <th>steps</th>
            <th>status</th>
            <th>last loss</th>
          </tr>
        </thead>
        <tbody>
          {saved.map((r) => (
            <tr key={r.id} data-status={r.status}>
              <td>{r.id}</td>
              <td>{r.config.loss.method}</td>
              <td>{r.config.lr}</td>
              <td>
                {r.history.length} / {r.config.steps}
              </td>
              <td>{r.status}</td>
              <td>{r.history.at(-1)?.loss.toPrecision(5) ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * Train tab: a banner for each interrupted run (resume from its last checkpoint), a stored dataset
 * (or a quick one from the training subjects), the loss and its options, start / pause / resume,
 * live uPlot curves, sample previews on fixed held-out seeds every K steps, and the saved runs
 * (resumable after a reload; adapters exportable).
 */
import { useEffect, useState } from "react";
import type { Manifest } from "../../../core/pack";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../../../core/training/loop";
import { METHODS, type Method } from "../../../core/training/steps";
import { defaultForm, useDataset } from "../../stores/dataset";
import { useActivePack } from "../../stores/packs";
import { useTraining } from "../../stores/training";
import { NumberField } from "../NumberField";
import { ImportedRuns } from "./ImportedRuns";
import { InterruptedRuns } from "./InterruptedRuns";
import { Previews } from "./Previews";
import { RunList } from "./RunList";
import { TrainCharts } from "./TrainCharts";
import "./train.css";

export function TrainPanel() {
  const pack = useActivePack();
  const manifest = pack?.manifest;
  const { datasets, datasetId, active, previewEvery } = useTraining();
  const [config, setConfig] = useState<TrainConfig>({ ...DEFAULT_TRAIN_CONFIG, lr: 1e-3, steps: 20 });
  const building = useDataset((s) => s.building);
  useEffect(() => {
    if (manifest) void useTraining.getState().refresh(manifest.id);
  }, [manifest]);
  if (!manifest) return <p>Load a pack on the Models tab to build a dataset and train.</p>;

  const t = useTraining.getState();
  const loss = config.loss;
  const setLoss = (patch: Partial<TrainConfig["loss"]>) => setConfig({ ...config, loss: { ...loss, ...patch } });
  const weights = loss.weights;
  const setWeights = (patch: Partial<typeof weights>) => setLoss({ weights: { ...weights, ...patch } });
  const running = active?.status === "running" || active?.status === "starting";
  const chosen = datasets.find((d) => d.id === datasetId);

  return (
    <section className="train-panel">
      <InterruptedRuns manifest={manifest} />
      <fieldset>
        <legend>Dataset</legend>
        <label>
          Train on{" "}
          <select
            aria-label="Training dataset"
            value={datasetId ?? ""}
            onChange={(e) => t.chooseDataset(e.target.value)}
          >
            {datasets.length === 0 && <option value="">no stored dataset</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.samples} images, {d.references} refs{d.settings.pairs ? ", two subjects per image" : ""})
              </option>
            ))}
          </select>
        </label>{" "}
        <button type="button" disabled={!!building} onClick={() => void quickDataset(manifest)}>
          Build dataset from the training subjects
        </button>
        {building && (
          <span>
            {" "}
            generating {building.done} / {building.total || "…"} images
          </span>
        )}
        {chosen && (
          <p data-testid="dataset-summary">
            {chosen.samples} generated images of {chosen.references} references, mean patch quality{" "}
            {chosen.meanGen.toFixed(3)}
            {chosen.settings.pairs &&
              `; two subjects per image (${chosen.settings.pairs.length} pairs): the generated image is conditioned on both references, each reference trains on its own, steps alternate the two, and image-level DPO pairs by quality`}
          </p>
        )}
      </fieldset>
      <fieldset>
        <legend>Loss and optimizer</legend>
        <label>
          Method{" "}
          <select
            aria-label="Method"
            value={loss.method}
            onChange={(e) => setLoss({ method: e.target.value as Method })}
          >
            {METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <NumberField label="Learning rate" value={config.lr} onChange={(lr) => setConfig({ ...config, lr })} />
        <NumberField
          label="Steps"
          value={config.steps}
          step={1}
          onChange={(steps) => setConfig({ ...config, steps })}
        />
        <NumberField
          label="Draws per step"
          value={config.batchSize}
          min={1}
          step={1}
          onChange={(batchSize) => setConfig({ ...config, batchSize: Math.max(1, Math.round(batchSize)) })}
        />
        <NumberField label="β" value={loss.beta} onChange={(beta) => setLoss({ beta })} />
        <NumberField
          label="Weight decay"
          value={config.weightDecay}
          onChange={(weightDecay) => setConfig({ ...config, weightDecay })}
        />
        <label>
          <input
            type="checkbox"
            checked={loss.useReference}
            onChange={(e) => setLoss({ useReference: e.target.checked })}
          />{" "}
          reference-image term
        </label>
        <label>
          DPO pairs{" "}
          <select
            aria-label="DPO pairing"
            value={loss.pairing}
            onChange={(e) => setLoss({ pairing: e.target.value as typeof loss.pairing })}
          >
            <option value="reference">reference ≻ generated</option>
            <option value="quality">better ≻ worse generated</option>
          </select>
        </label>
        <label>
          Quality → weight{" "}
          <select
            aria-label="Weight normalization"
            value={weights.normalize}
            onChange={(e) => setWeights({ normalize: e.target.value as typeof weights.normalize })}
          >
            <option value="clamp">clamp to [0, 1]</option>
            <option value="minmax">min–max per image</option>
          </select>
        </label>
        <label>
          Threshold τ{" "}
          <input
            aria-label="Threshold"
            placeholder="none"
            size={5}
            value={weights.threshold ?? ""}
            onChange={(e) => setWeights({ threshold: e.target.value === "" ? null : Number(e.target.value) })}
          />
        </label>
        <NumberField
          label="Temperature"
          value={weights.temperature}
          onChange={(temperature) => setWeights({ temperature })}
        />
        <NumberField
          label="Checkpoint every"
          value={config.checkpointEvery}
          step={1}
          onChange={(checkpointEvery) => setConfig({ ...config, checkpointEvery: Math.max(1, checkpointEvery) })}
        />
        <NumberField
          label="Keep checkpoints"
          value={config.keepCheckpoints}
          min={1}
          step={1}
          onChange={(keep) => setConfig({ ...config, keepCheckpoints: Math.max(1, Math.round(keep)) })}
        />
        <NumberField
          label="Preview every"
          value={previewEvery}
          step={1}
          onChange={(k) => t.setPreviewEvery(Math.max(0, Math.round(k)))}
        />
      </fieldset>
      <p className="muted">
        AdamW; the official code uses lr 3e-5 and weight decay 0.01. Small packs may want a larger rate to move in a few
        steps.
      </p>
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={!chosen || running}
          onClick={() => void t.start(manifest, config)}
        >
          Start
        </button>
        <button type="button" disabled={!running} onClick={() => t.pause()}>
          Pause
        </button>
        <button
          type="button"
          disabled={running || !active || (active.status !== "paused" && active.status !== "interrupted")}
          onClick={() => active && void t.resume(manifest, active.runId)}
        >
          Resume
        </button>
      </div>
      <p data-testid="train-status" data-status={active?.status ?? "idle"}>
        {active ? (
          <>
            Run <strong>{active.runId}</strong> ({active.config.loss.method}): {active.status}, step{" "}
            {active.history.at(-1)?.step ?? 0} of {active.config.steps}
            {active.backend && <span className="muted"> · engine {active.backend}</span>}
            {active.message && (
              <strong className="train-message" data-testid="train-message">
                {" "}
                — {active.message}
              </strong>
            )}
          </>
        ) : (
          "Status: idle"
        )}
      </p>
      {active && <TrainCharts history={active.history} config={active.config} />}
      <Previews manifest={manifest} />
      <RunList manifest={manifest} />
      <ImportedRuns packId={manifest.id} />
    </section>
  );
}

/** The quick path: every training subject, seed 1, 10 sampler steps, stored like any dataset. */
async function quickDataset(manifest: Manifest) {
  const form = { ...(await defaultForm(manifest)), name: "training subjects, seed 1", seeds: "1" };
  const id = await useDataset.getState().build(manifest, [1], { ...form, sampler: { ...form.sampler, steps: 10 } });
  await useTraining.getState().refresh(manifest.id);
  if (id) useTraining.getState().chooseDataset(id);
}

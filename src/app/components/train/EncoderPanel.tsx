/**
 * The Train tab's Encoder section: enhance the pack's patch encoder on your own images with
 * self-supervised correspondences (patch InfoNCE), watch S_patch on held-out views of held-out
 * images, and keep the result as an enhanced encoder for Inspect, Dataset and Compare.
 */
import { useEffect, useMemo } from "react";
import { vitArch } from "../../../core/engine/vit";
import { EnhanceData, heldOutImages } from "../../../core/enhance/run";
import type { Manifest } from "../../../core/pack";
import { type ActiveEnhance, useEnhance } from "../../stores/enhance";
import { RgbaCanvas } from "../generate/RgbaCanvas";
import { NumberField } from "../NumberField";
import { MatchView } from "./MatchView";
import { MetricChart } from "./MetricChart";

/** A stable React key per image object: images are appended and removed in any order. */
const imageKeys = new WeakMap<object, number>();
let nextImageKey = 0;
function keyOf(image: object): number {
  let key = imageKeys.get(image);
  if (key === undefined) {
    key = nextImageKey++;
    imageKeys.set(image, key);
  }
  return key;
}

/** Adds a stored dataset's references (Dataset tab) to the images. */
function DatasetReferences({ packId }: { packId: string }) {
  const datasets = useEnhance((s) => s.datasets).filter((d) => d.packId === packId);
  useEffect(() => void useEnhance.getState().listDatasets(packId), [packId]);
  if (datasets.length === 0) return null;
  return (
    <select
      aria-label="Add a dataset's references"
      value=""
      onChange={(e) => {
        if (e.target.value) void useEnhance.getState().fromDataset(packId, e.target.value);
      }}
    >
      <option value="">Add a dataset's references…</option>
      {datasets.map((d) => (
        <option key={d.id} value={d.id}>
          {d.name} ({d.references} references)
        </option>
      ))}
    </select>
  );
}

function ImagesPicker({ manifest }: { manifest: Manifest }) {
  const images = useEnhance((s) => s.images);
  const held = images.length >= 2 ? new Set(heldOutImages(images.length)) : new Set<number>();
  return (
    <fieldset>
      <legend>Images ({images.length})</legend>
      <label>
        Add images{" "}
        <input
          type="file"
          accept="image/*"
          multiple
          aria-label="Encoder images"
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = "";
            void useEnhance.getState().addFiles(manifest.id, files);
          }}
        />
      </label>
      <button type="button" onClick={() => void useEnhance.getState().fromGallery(manifest)}>
        Use the pack's training gallery
      </button>
      <DatasetReferences packId={manifest.id} />
      <div className="enhance-images" data-testid="enhance-images">
        {images.map((img, i) => (
          <figure key={keyOf(img)}>
            <RgbaCanvas image={img.rgba} label={img.label} />
            <figcaption>
              {held.has(i) ? "held out" : "train"}{" "}
              <button
                type="button"
                aria-label={`Remove ${img.label}`}
                onClick={() => useEnhance.getState().removeImage(i)}
              >
                ×
              </button>
            </figcaption>
          </figure>
        ))}
      </div>
      <p className="muted">
        Every fourth image (at least one) is held out: S_patch is measured on views of those, never trained on.
      </p>
    </fieldset>
  );
}

function Settings() {
  const config = useEnhance((s) => s.config);
  const label = useEnhance((s) => s.label);
  const { setConfig, setLabel } = useEnhance.getState();
  return (
    <fieldset>
      <legend>Settings</legend>
      <label>
        Name <input aria-label="Encoder name" value={label} onChange={(e) => setLabel(e.target.value)} />
      </label>
      <label>
        Train{" "}
        <select
          aria-label="Enhance scope"
          value={config.scope}
          onChange={(e) => setConfig({ scope: e.target.value as typeof config.scope })}
        >
          <option value="all">every layer</option>
          <option value="last">the last block and the head</option>
        </select>
      </label>
      <label>
        Start from{" "}
        <select
          aria-label="Enhance start"
          value={config.start}
          onChange={(e) => setConfig({ start: e.target.value as typeof config.start })}
        >
          <option value="pack">the pack's encoder</option>
          <option value="random">random weights (ablation)</option>
        </select>
      </label>
      <NumberField
        label="Encoder steps"
        value={config.steps}
        min={1}
        step={1}
        onChange={(steps) => setConfig({ steps })}
      />
      <NumberField
        label="Pairs per step"
        value={config.batchPairs}
        min={1}
        step={1}
        onChange={(batchPairs) => setConfig({ batchPairs })}
      />
      <NumberField label="Encoder learning rate" value={config.lr} min={0} onChange={(lr) => setConfig({ lr })} />
      <NumberField
        label="Temperature"
        value={config.temperature}
        min={0.01}
        onChange={(temperature) => setConfig({ temperature })}
      />
      <NumberField
        label="S_patch every"
        value={config.evalEvery}
        min={1}
        step={1}
        onChange={(evalEvery) => setConfig({ evalEvery, checkpointEvery: evalEvery })}
      />
    </fieldset>
  );
}

function Progress({ active, manifest }: { active: ActiveEnhance; manifest: Manifest }) {
  const arch = useMemo(() => vitArch(manifest), [manifest]);
  const example = useMemo(() => {
    try {
      return new EnhanceData(
        active.images.map((i) => i.rgba),
        arch,
        active.config,
      ).example;
    } catch {
      return undefined;
    }
  }, [active.images, active.config, arch]);
  const sp = active.sPatch;
  const first = sp[0];
  const last = sp.at(-1);
  const steps = active.history.map((r) => r.step);
  return (
    <section aria-label="Encoder run">
      <p data-testid="enhance-status" data-status={active.status} data-step={active.history.at(-1)?.step ?? 0}>
        <strong>{active.label}</strong>: {active.status}
        {active.backend ? ` on ${active.backend}` : ""}, step {active.history.at(-1)?.step ?? 0} of{" "}
        {active.config.steps}
        {first && last ? (
          <span data-testid="s-patch-summary" data-before={first.top1} data-after={last.top1}>
            {" "}
            · S_patch {first.top1.toFixed(3)} → {last.top1.toFixed(3)} (top-5 {first.top5.toFixed(3)} →{" "}
            {last.top5.toFixed(3)}, {last.valid} held-out patches)
          </span>
        ) : null}
        {active.message ? ` · ${active.message}` : ""}
      </p>
      <div className="train-charts">
        <MetricChart
          title="S_patch (held-out)"
          x={sp.map((p) => p.step)}
          series={[
            { label: "top-1", values: sp.map((p) => p.top1) },
            { label: "top-5", values: sp.map((p) => p.top5) },
          ]}
        />
        <MetricChart
          title="InfoNCE loss (batch)"
          x={steps}
          series={[{ label: "loss", values: active.history.map((r) => r.loss) }]}
        />
      </div>
      {example && (
        <MatchView
          pair={example}
          grid={arch.image / arch.patch}
          before={active.matches.before}
          latest={active.matches.latest}
          latestStep={last?.step}
        />
      )}
    </section>
  );
}

function StoredRuns() {
  const runs = useEnhance((s) => s.runs);
  if (!runs.length) return null;
  const { open, resume, remove, exportEncoder } = useEnhance.getState();
  return (
    <table className="enhance-runs" aria-label="Enhanced encoders">
      <thead>
        <tr>
          <th>Encoder</th>
          <th>Status</th>
          <th>Step</th>
          <th>S_patch before → now</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id}>
            <td>
              {r.label}{" "}
              <span className="muted">
                ({r.config.scope}, {r.imageLabels.length} images)
              </span>
            </td>
            <td>{r.status}</td>
            <td>
              {r.step} / {r.config.steps}
            </td>
            <td>
              {r.sPatch[0]?.top1.toFixed(3) ?? "–"} → {r.sPatch.at(-1)?.top1.toFixed(3) ?? "–"}
            </td>
            <td>
              <button type="button" onClick={() => void open(r.id)}>
                Show
              </button>{" "}
              {r.status !== "done" && r.status !== "running" && (
                <button type="button" onClick={() => void resume(r.id)}>
                  Resume
                </button>
              )}{" "}
              <button type="button" disabled={r.step === 0} onClick={() => void exportEncoder(r.id)}>
                Export safetensors
              </button>{" "}
              <button type="button" onClick={() => void remove(r.id)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EncoderPanel({ manifest }: { manifest: Manifest }) {
  const images = useEnhance((s) => s.images);
  const active = useEnhance((s) => s.active);
  useEffect(() => {
    void useEnhance.getState().refresh();
  }, []);
  const running = active?.status === "running" || active?.status === "starting";
  return (
    <section className="panel train-panel" aria-label="Encoder">
      <h2>Encoder</h2>
      <p className="muted">
        Enhance the pack's patch encoder on your own images: synthetic views with known correspondences (scale,
        rotation, shift, background swaps, colour jitter, blur), patch InfoNCE on subject patches. S_patch is the share
        of held-out subject patches whose best match is the true one.
      </p>
      <ImagesPicker manifest={manifest} />
      <Settings />
      <button
        type="button"
        disabled={images.length < 2 || running}
        onClick={() => void useEnhance.getState().start(manifest.id)}
      >
        Enhance encoder
      </button>{" "}
      {running && (
        <button type="button" onClick={() => useEnhance.getState().pause()}>
          Pause encoder
        </button>
      )}
      {images.length < 2 && <span className="muted"> Add at least 2 images.</span>}
      {active && <Progress active={active} manifest={manifest} />}
      <StoredRuns />
    </section>
  );
}

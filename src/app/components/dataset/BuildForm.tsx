/**
 * The dataset build form: references (training subjects or uploads), prompts, seeds, sampler,
 * adapter, and the patch encoder the quality maps come from.
 */
import { useEffect, useState } from "react";
import { parseSeeds } from "../../../core/dataset/seeds";
import type { Manifest } from "../../../core/pack";
import { useAdapters } from "../../stores/adapters";
import { useDataset } from "../../stores/dataset";
import { RgbaCanvas } from "../generate/RgbaCanvas";
import { PatchEncoderSelect } from "../PatchEncoderSelect";

export function BuildForm({ manifest }: { manifest: Manifest }) {
  const { form, building } = useDataset();
  const set = useDataset.getState().setForm;
  const adapters = useAdapters((s) => s.list).filter((a) => a.packId === manifest.id);
  useEffect(() => void useAdapters.getState().refresh(manifest.id), [manifest.id]);
  const [seedError, setSeedError] = useState<string>();
  if (!form) return <section className="panel dataset-form">Loading the training subjects…</section>;

  let seeds: number[] = [];
  try {
    seeds = parseSeeds(form.seeds);
  } catch {}
  const layouts = manifest.prompt.layouts;
  const images = form.twoSubjects ? Math.floor(form.references.length / 2) : form.references.length;
  const total = images * form.prompts.length * seeds.length;
  // Two subjects put a layout ("A left, B right"…) in its slot; one subject takes that slot's own values.
  const setTwoSubjects = (on: boolean) => {
    if (!layouts) return;
    const isLayout = (v?: string) => layouts.values.some((l) => l.text === v);
    const prompts = form.prompts.map((p) =>
      on === isLayout(p[layouts.slot]) ? p : { ...p, [layouts.slot]: on ? layouts.values[0].text : "any" },
    );
    set({ twoSubjects: on, prompts });
  };
  const build = () => {
    try {
      setSeedError(undefined);
      void useDataset.getState().build(manifest, parseSeeds(form.seeds));
    } catch (e) {
      setSeedError((e as Error).message);
    }
  };
  const setPrompt = (i: number, slot: string, value: string) =>
    set({ prompts: form.prompts.map((p, j) => (j === i ? { ...p, [slot]: value } : p)) });
  const sampler = form.sampler;

  return (
    <section className="panel dataset-form" aria-label="Dataset settings">
      <label>
        Name <input aria-label="Dataset name" value={form.name} onChange={(e) => set({ name: e.target.value })} />
      </label>
      <fieldset>
        <legend>References ({form.references.length})</legend>
        <div className="dataset-refs">
          {form.references.map((r, i) => (
            <span key={`${r.source}-${r.id}-${String(i)}`} className="dataset-ref">
              <RgbaCanvas image={r.image} label={`Reference ${r.label}`} />
              <button
                type="button"
                title={`Remove ${r.label}`}
                aria-label={`Remove reference ${r.label}`}
                onClick={() => set({ references: form.references.filter((_, j) => j !== i) })}
              >
                ×
              </button>
            </span>
          ))}
        </div>
        <button type="button" onClick={() => void useDataset.getState().init(manifest)}>
          Training subjects
        </button>
        <label className="button">
          Upload images…
          <input
            type="file"
            accept="image/*"
            multiple
            hidden
            data-testid="dataset-upload"
            onChange={(e) => {
              const files = [...(e.target.files ?? [])];
              e.target.value = "";
              void useDataset.getState().upload(manifest, files);
            }}
          />
        </label>
      </fieldset>
      {layouts && (
        <label className="dataset-two-subjects">
          <input type="checkbox" checked={form.twoSubjects} onChange={(e) => setTwoSubjects(e.target.checked)} />
          Two subjects per image: references paired in order (1 with 2, 3 with 4, …) as subjects A and B
        </label>
      )}
      <fieldset>
        <legend>Prompts ({form.prompts.length})</legend>
        {form.prompts.map((p, i) => (
          <div key={String(i)} className="dataset-prompt">
            {manifest.prompt.slots.map((slot) => (
              <select
                key={slot.name}
                aria-label={`Prompt ${i + 1} ${slot.name}`}
                value={p[slot.name] ?? "any"}
                onChange={(e) => setPrompt(i, slot.name, e.target.value)}
              >
                {!(form.twoSubjects && layouts?.slot === slot.name) && <option value="any">{slot.name}: any</option>}
                {(form.twoSubjects && layouts?.slot === slot.name ? layouts.values : slot.values).map((v) => (
                  <option key={v.id} value={v.text}>
                    {v.text}
                  </option>
                ))}
              </select>
            ))}
            {form.prompts.length > 1 && (
              <button type="button" onClick={() => set({ prompts: form.prompts.filter((_, j) => j !== i) })}>
                ×
              </button>
            )}
          </div>
        ))}
        <button type="button" onClick={() => set({ prompts: [...form.prompts, { ...form.prompts.at(-1) }] })}>
          Add prompt
        </button>
      </fieldset>
      <fieldset>
        <legend>Generation</legend>
        <label>
          Seeds{" "}
          <input aria-label="Seeds" value={form.seeds} onChange={(e) => set({ seeds: e.target.value })} size={10} />
        </label>
        <label>
          Steps{" "}
          <input
            type="number"
            aria-label="Sampler steps"
            min={1}
            max={1000}
            value={sampler.steps}
            onChange={(e) => set({ sampler: { ...sampler, steps: Number(e.target.value) || 1 } })}
          />
        </label>
        <label>
          Adapter{" "}
          <select aria-label="Dataset adapter" value={form.adapter} onChange={(e) => set({ adapter: e.target.value })}>
            {adapters.length === 0 && <option value="base">base</option>}
            {adapters.map((a) => (
              <option key={a.id} value={a.id}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          m_ref{" "}
          <select
            aria-label="Reference map"
            value={form.refWeight}
            onChange={(e) => set({ refWeight: e.target.value as typeof form.refWeight })}
          >
            <option value="coverage">coverage</option>
            <option value="attributed">attributed</option>
          </select>
        </label>
        <PatchEncoderSelect
          packId={manifest.id}
          label="Dataset patch encoder"
          value={form.patchEncoder}
          onChange={(patchEncoder) => set({ patchEncoder })}
        />
      </fieldset>
      {seedError && (
        <div className="error-box" role="alert">
          {seedError}
        </div>
      )}
      <p className="muted">
        {form.twoSubjects ? `${images} pairs` : `${images} references`} × {form.prompts.length} prompts × {seeds.length}{" "}
        seeds = {total} images
      </p>
      <button type="button" className="primary" disabled={!!building || total === 0} onClick={build}>
        Build dataset
      </button>
    </section>
  );
}

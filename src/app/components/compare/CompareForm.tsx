/**
 * The Compare tab's settings: adapters, held-out subjects, prompts, seeds, sampler steps,
 * evaluators (the patch encoder behind patch_quality among them).
 */
import { useEffect, useState } from "react";
import type { LoadedPack } from "../../../../workers/inference-api";
import { describePrompt } from "../../../core/generate";
import { GLOBAL_METRICS, type GlobalMetric } from "../../../core/metrics/image";
import { adapterLabel, useAdapters, usePackAdapters } from "../../stores/adapters";
import {
  compareCells,
  heldoutPairs,
  heldoutSubjects,
  METRIC_LABELS,
  METRIC_ORDER,
  useCompare,
} from "../../stores/compare";
import { useEncoders } from "../../stores/encoders";
import { useSettings } from "../../stores/settings";
import { loadUserEncoder } from "../../stores/user-encoders";
import { ImportAdapterButton } from "../ImportAdapterButton";
import { PatchEncoderSelect } from "../PatchEncoderSelect";

function AdapterPicker({ packId }: { packId: string }) {
  const { list, error, setError } = usePackAdapters(packId);
  const chosen = useCompare((s) => s.form?.adapters ?? []);
  const toggle = (id: string, on: boolean) =>
    useCompare.getState().setForm({ adapters: on ? [...chosen, id] : chosen.filter((a) => a !== id) });
  return (
    <fieldset aria-label="Adapters">
      <legend>Adapters (the first is the baseline for Δ)</legend>
      {list.map((a) => (
        <label key={a.id}>
          <input type="checkbox" checked={chosen.includes(a.id)} onChange={(e) => toggle(a.id, e.target.checked)} />{" "}
          {adapterLabel(a)}
        </label>
      ))}
      <button type="button" onClick={() => void useAdapters.getState().refresh(packId)}>
        Refresh list
      </button>
      <ImportAdapterButton packId={packId} onImported={(c) => toggle(c.id, true)} onError={setError} />
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
    </fieldset>
  );
}

/** The registered encoders (Models tab) offered for a global-similarity slot; the choice persists. */
function RegisteredPicker({ metric }: { metric: GlobalMetric }) {
  const records = useEncoders((s) => s.records);
  const ready = useEncoders((s) => s.ready);
  const chosen = useSettings((s) => s.encoderChoice[metric]);
  const info = useCompare((s) => s.global[metric]);
  // Restore the persisted choice once the registry is read (after a reload).
  useEffect(() => {
    if (!ready || !chosen || useCompare.getState().global[metric]?.registered?.id === chosen) return;
    if (records.some((r) => r.id === chosen)) void useCompare.getState().useRegistered(metric, chosen);
    else useSettings.getState().setEncoderChoice(metric, undefined);
  }, [ready, chosen, records, metric]);
  // An encoder deleted on the Models tab leaves the slot.
  useEffect(() => {
    const current = useCompare.getState().global[metric]?.registered?.id;
    if (ready && current && !records.some((r) => r.id === current))
      void useCompare.getState().useRegistered(metric, undefined);
  }, [ready, records, metric]);
  if (!records.length) return null;
  return (
    <label>
      registered{" "}
      <select
        aria-label={`${metric} registered encoder`}
        value={info?.registered?.id ?? ""}
        onChange={(e) => void useCompare.getState().useRegistered(metric, e.target.value || undefined)}
      >
        <option value="">{info && !info.registered ? "(the description loaded)" : "none"}</option>
        {records.map((r) => (
          <option key={r.id} value={r.id}>
            {r.title} ({r.modelType})
          </option>
        ))}
      </select>
    </label>
  );
}

/** A global-similarity metric's encoder: a registered one, or an ONNX with a description (as Inspect's form). */
function EvaluatorSlot({ metric }: { metric: GlobalMetric }) {
  const info = useCompare((s) => s.global[metric]);
  const [error, setError] = useState<string>();
  const [spec, setSpec] = useState<File>();
  const [model, setModel] = useState<File>();
  const load = async () => {
    setError(undefined);
    try {
      if (!spec || !model) throw new Error("choose the encoder description (JSON) and its ONNX file");
      const loaded = await loadUserEncoder(spec.name, await spec.text(), model);
      useCompare.getState().setGlobal(metric, loaded);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div className="evaluator-slot" data-testid={`evaluator-${metric}`}>
      <strong>{METRIC_LABELS[metric]}</strong> <RegisteredPicker metric={metric} />{" "}
      {info ? (
        <>
          <span className="muted" data-testid={`evaluator-${metric}-file`}>
            {info.registered ? `${info.registered.title}: ${info.registered.file}` : info.spec.file}
          </span>{" "}
          <button type="button" onClick={() => void useCompare.getState().useRegistered(metric, undefined)}>
            Remove
          </button>
        </>
      ) : (
        <>
          <label>
            JSON{" "}
            <input
              type="file"
              accept=".json"
              aria-label={`${metric} description`}
              onChange={(e) => setSpec(e.target.files?.[0])}
            />
          </label>
          <label>
            ONNX{" "}
            <input
              type="file"
              accept=".onnx"
              aria-label={`${metric} ONNX`}
              onChange={(e) => setModel(e.target.files?.[0])}
            />
          </label>
          <button type="button" onClick={() => void load()}>
            Load
          </button>
        </>
      )}
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function parseSeeds(text: string): number[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0);
}

export function CompareForm({ pack }: { pack: LoadedPack }) {
  const form = useCompare((s) => s.form);
  const caps = useCompare((s) => s.capabilities);
  const status = useCompare((s) => s.status);
  const [seedText, setSeedText] = useState(form?.seeds.join(", ") ?? "");
  if (!form) return null;
  const m = pack.manifest;
  const set = useCompare.getState().setForm;
  const subjects = heldoutSubjects(m);
  const pairs = heldoutPairs(m);
  const layouts = m.prompt.layouts;
  const cells = compareCells(form, m).length;
  const subjectName = (id: string) => subjects.find((x) => x.id === id)?.name ?? id;
  // Two subjects put a layout in its slot of the one-for-all prompt; one subject takes that slot's values.
  const setTwoSubjects = (on: boolean) => {
    const slot = layouts?.slot ?? "position";
    const isLayout = layouts?.values.some((l) => l.text === form.customPrompt[slot]);
    const value = on ? (layouts?.values[0]?.text ?? "any") : "any";
    set({
      twoSubjects: on,
      customPrompt: on === !!isLayout ? form.customPrompt : { ...form.customPrompt, [slot]: value },
    });
  };
  const packEvaluatorMetrics = METRIC_ORDER.filter((k) => k in (caps?.evaluators ?? {}));
  return (
    <section className="panel compare-form" aria-label="Comparison settings">
      <AdapterPicker packId={pack.id} />
      {pairs.length > 0 && (
        <label>
          <input type="checkbox" checked={form.twoSubjects} onChange={(e) => setTwoSubjects(e.target.checked)} /> Two
          subjects per image (the scene kit's held-out pairs)
        </label>
      )}
      {form.twoSubjects ? (
        <fieldset aria-label="Held-out pairs">
          <legend>
            Held-out pairs ({form.pairs.length} of {pairs.length}){" "}
            <button type="button" onClick={() => set({ pairs })}>
              all
            </button>{" "}
            <button type="button" onClick={() => set({ pairs: [] })}>
              none
            </button>
          </legend>
          <div className="subject-list">
            {pairs.map((p) => {
              const [a, b] = p.split("+");
              return (
                <label key={p} title={p}>
                  <input
                    type="checkbox"
                    checked={form.pairs.includes(p)}
                    onChange={(e) =>
                      set({ pairs: e.target.checked ? [...form.pairs, p] : form.pairs.filter((x) => x !== p) })
                    }
                  />{" "}
                  A {subjectName(a)} + B {subjectName(b)}
                </label>
              );
            })}
          </div>
        </fieldset>
      ) : (
        <fieldset aria-label="Held-out subjects">
          <legend>
            Held-out subjects ({form.subjects.length} of {subjects.length}){" "}
            <button type="button" onClick={() => set({ subjects: subjects.map((s) => s.id) })}>
              all
            </button>{" "}
            <button type="button" onClick={() => set({ subjects: [] })}>
              none
            </button>
          </legend>
          <div className="subject-list">
            {subjects.map((s) => (
              <label key={s.id} title={s.id}>
                <input
                  type="checkbox"
                  checked={form.subjects.includes(s.id)}
                  onChange={(e) =>
                    set({
                      subjects: e.target.checked ? [...form.subjects, s.id] : form.subjects.filter((x) => x !== s.id),
                    })
                  }
                />{" "}
                {s.name}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      <fieldset aria-label="Prompts">
        <legend>Prompts</legend>
        <label>
          <input
            type="radio"
            checked={form.promptMode === "eval"}
            disabled={!m.scenes}
            onChange={() => set({ promptMode: "eval" })}
          />{" "}
          the scene kit's eval prompts, first{" "}
          <input
            type="number"
            min={1}
            max={8}
            aria-label="Prompts per subject"
            value={form.promptsPerSubject}
            onChange={(e) => set({ promptsPerSubject: Math.max(1, Number(e.target.value)) })}
          />{" "}
          per {form.twoSubjects ? "pair" : "subject"}
        </label>
        <label>
          <input type="radio" checked={form.promptMode === "custom"} onChange={() => set({ promptMode: "custom" })} />{" "}
          one prompt for all:
        </label>
        {m.prompt.slots.map((slot) => (
          <label key={slot.name}>
            {slot.name}{" "}
            <select
              value={form.customPrompt[slot.name] ?? "any"}
              disabled={form.promptMode !== "custom"}
              onChange={(e) => set({ customPrompt: { ...form.customPrompt, [slot.name]: e.target.value } })}
            >
              {!(form.twoSubjects && layouts?.slot === slot.name) && <option value="any">any</option>}
              {(form.twoSubjects && layouts?.slot === slot.name ? layouts.values : slot.values).map((v) => (
                <option key={v.id}>{v.text}</option>
              ))}
            </select>
          </label>
        ))}
        {form.promptMode === "custom" && <span className="muted">{describePrompt(m.prompt, form.customPrompt)}</span>}
      </fieldset>
      <fieldset aria-label="Seeds and sampler">
        <legend>Seeds and sampler</legend>
        <label>
          Seeds{" "}
          <input
            aria-label="Seeds"
            value={seedText}
            onChange={(e) => {
              setSeedText(e.target.value);
              set({ seeds: parseSeeds(e.target.value) });
            }}
          />
        </label>
        <label>
          Steps{" "}
          <input
            type="number"
            min={1}
            max={200}
            aria-label="Sampler steps"
            value={form.sampler.steps}
            onChange={(e) => set({ sampler: { ...form.sampler, steps: Math.max(1, Number(e.target.value)) } })}
          />
        </label>
        <span className="muted">
          {cells} cells × {form.adapters.length} adapters = {cells * form.adapters.length} images; each cell's adapters
          share one initial noise.
        </span>
      </fieldset>
      <fieldset aria-label="Evaluators">
        <legend>Metrics</legend>
        <span className="muted">
          Always: {METRIC_LABELS.patch_quality}.{" "}
          {packEvaluatorMetrics.length ? `Also ${packEvaluatorMetrics.map((k) => METRIC_LABELS[k]).join(", ")}. ` : ""}
          {caps?.scenes
            ? "Ground truth from the scene kit: subject-region and scene PSNR, background / position / size accuracy. "
            : ""}
          {caps?.notes.join("; ")}
        </span>
        <div className="evaluator-slot">
          <strong>{METRIC_LABELS.patch_quality}</strong>{" "}
          <PatchEncoderSelect
            packId={pack.id}
            label="Compare patch encoder"
            value={form.patchEncoder}
            onChange={(patchEncoder) => set({ patchEncoder })}
          />
        </div>
        {GLOBAL_METRICS.map((g) => (
          <EvaluatorSlot key={g} metric={g} />
        ))}
      </fieldset>
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={status === "running"}
          onClick={() => void useCompare.getState().run(pack)}
        >
          Compare
        </button>
        {status === "running" && (
          <button type="button" onClick={() => useCompare.getState().cancel()}>
            Cancel
          </button>
        )}
      </div>
    </section>
  );
}

/**
 * Prompt (one value or "any" per slot of the pack's vocabulary; a layout in its slot for a
 * two-subject scene) and sampler settings.
 */
import type { GenerateSettings } from "../../../core/generate";
import type { Manifest } from "../../../core/pack";
import { randomSeed } from "../../generate-settings";
import { useGeneration } from "../../stores/generation";
import { NumberField } from "../NumberField";

export function SettingsForm({ manifest, settings }: { manifest: Manifest; settings: GenerateSettings }) {
  const set = useGeneration.getState().setSettings;
  // With a second subject, the layouts ("A left, B right"…) are the values of their slot.
  const twoSubjects = useGeneration((s) => !!s.form?.second);
  const layouts = manifest.prompt.layouts;
  return (
    <>
      <fieldset>
        <legend>Prompt</legend>
        {manifest.prompt.slots.map((slot) => (
          <label key={slot.name}>
            {slot.name}{" "}
            <select
              aria-label={`Prompt ${slot.name}`}
              value={settings.prompt[slot.name] ?? "any"}
              onChange={(e) => set({ prompt: { ...settings.prompt, [slot.name]: e.target.value } })}
            >
              <option value="any">any</option>
              {(twoSubjects && layouts?.slot === slot.name ? layouts.values : slot.values).map((v) => (
                <option key={v.id} value={v.text}>
                  {v.text}
                </option>
              ))}
            </select>
          </label>
        ))}
      </fieldset>
      <fieldset className="sampler-settings">
        <legend>Sampling</legend>
        <span className="seed">
          <NumberField
            label="Seed"
            value={settings.seed}
            min={0}
            max={4294967295}
            step={1}
            onChange={(seed) => set({ seed })}
          />
          <button type="button" title="Random seed" onClick={() => set({ seed: randomSeed() })}>
            Random
          </button>
        </span>
        <NumberField
          label="Steps"
          value={settings.steps}
          min={1}
          max={1000}
          step={1}
          onChange={(steps) => set({ steps })}
        />
        <label>
          Sampler{" "}
          <select
            aria-label="Sampler"
            value={settings.sampler}
            onChange={(e) => set({ sampler: e.target.value as GenerateSettings["sampler"] })}
          >
            <option value="ddim">DDIM</option>
            <option value="euler">Euler</option>
          </select>
        </label>
        <NumberField
          label="Image guidance"
          value={settings.guidanceImage}
          min={0}
          max={20}
          step={0.5}
          onChange={(guidanceImage) => set({ guidanceImage })}
        />
        <NumberField
          label="Prompt guidance"
          value={settings.guidancePrompt}
          min={0}
          max={20}
          step={0.5}
          onChange={(guidancePrompt) => set({ guidancePrompt })}
        />
        <NumberField
          label="IP scale"
          value={settings.ipScale}
          min={0}
          max={20}
          step={0.1}
          onChange={(ipScale) => set({ ipScale })}
        />
        <NumberField
          label="Batch size"
          value={settings.batch}
          min={1}
          max={16}
          step={1}
          onChange={(batch) => set({ batch })}
        />
      </fieldset>
    </>
  );
}

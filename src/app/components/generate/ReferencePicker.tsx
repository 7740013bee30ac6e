/**
 * Reference subject: a gallery subject of the pack (held-out first) or an uploaded image; with a
 * pack whose denoiser takes two references, an optional second subject (B) for a two-subject scene.
 */
import { denoiserArch } from "../../../core/engine/arch";
import type { Manifest } from "../../../core/pack";
import { useGeneration } from "../../stores/generation";
import { RgbaCanvas } from "./RgbaCanvas";

export function ReferencePicker({ packId, manifest }: { packId: string; manifest: Manifest }) {
  const form = useGeneration((s) => s.form);
  const { chooseSubject, upload } = useGeneration.getState();
  const gallery = manifest.gallery;
  const selected = form?.reference?.kind === "gallery" ? form.reference.id : "";
  const onSelect = (id: string) => {
    const entry = [...(gallery?.heldout ?? []), ...(gallery?.train ?? [])].find((e) => e.id === id);
    if (entry) void chooseSubject(packId, entry.id, entry.name);
  };
  return (
    <fieldset className="reference-picker">
      <legend>Reference</legend>
      <label>
        Subject{" "}
        <select aria-label="Subject" value={selected} onChange={(e) => onSelect(e.target.value)}>
          {selected === "" && <option value="">(uploaded image)</option>}
          {gallery && (
            <>
              <optgroup label="Held-out subjects">
                {gallery.heldout.map((e) => (
                  <option key={e.id} value={e.id}>
                    {e.name}
                  </option>
                ))}
              </optgroup>
              <optgroup label="Training subjects">
                {gallery.train.map((e) => (
                  <option key={e.id} value={e.id}>
                    {e.name}
                  </option>
                ))}
              </optgroup>
            </>
          )}
        </select>
      </label>
      <label className="button">
        Upload image…
        <input
          type="file"
          accept="image/*"
          hidden
          data-testid="reference-upload"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = "";
            if (file) void upload(packId, file);
          }}
        />
      </label>
      <div className="reference-preview">
        {form?.referenceImage && form.reference ? (
          <RgbaCanvas
            image={form.referenceImage}
            label={`Reference: ${form.reference.label}`}
            testId="reference-image"
          />
        ) : form?.referenceError ? null : (
          <span className="muted">{form?.reference ? "Loading…" : "No reference chosen"}</span>
        )}
      </div>
      {denoiserArch(manifest).maxReferences > 1 && <SecondSubject packId={packId} manifest={manifest} />}
      {form?.referenceError && (
        <div className="error-box" role="alert" data-testid="reference-error">
          {form.referenceError}
        </div>
      )}
    </fieldset>
  );
}

/** Subject B of a two-subject scene: the prompt's position then names where A and B go. */
function SecondSubject({ packId, manifest }: { packId: string; manifest: Manifest }) {
  const form = useGeneration((s) => s.form);
  const entries = [...(manifest.gallery?.heldout ?? []), ...(manifest.gallery?.train ?? [])];
  return (
    <div className="second-subject">
      <label>
        Second subject (B){" "}
        <select
          aria-label="Second subject"
          value={form?.second?.id ?? ""}
          onChange={(e) => {
            const entry = entries.find((x) => x.id === e.target.value);
            void useGeneration.getState().chooseSecond(packId, manifest, entry && { id: entry.id, label: entry.name });
          }}
        >
          <option value="">none (one subject)</option>
          {entries.map((e) => (
            <option key={e.id} value={e.id}>
              {e.name}
            </option>
          ))}
        </select>
      </label>
      {form?.second && form.secondImage && (
        <RgbaCanvas image={form.secondImage} label={`Second reference: ${form.second.label}`} testId="second-image" />
      )}
    </div>
  );
}

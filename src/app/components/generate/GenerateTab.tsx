/** The Generate tab: reference, prompt and sampler settings on the left, the results gallery on the right. */
import { useEffect } from "react";
import { useGeneration } from "../../stores/generation";
import { useActivePack, usePacks } from "../../stores/packs";
import { AdapterSelect } from "./AdapterSelect";
import { ReferencePicker } from "./ReferencePicker";
import { RunCardView } from "./RunCardView";
import { SettingsForm } from "./SettingsForm";
import "./generate.css";

export function GenerateTab() {
  const loaded = usePacks((s) => s.loaded);
  const { form, cards } = useGeneration();
  const packIds = Object.keys(loaded);
  const active = useActivePack({ chosen: form?.packId });
  const pack = active && active.id === form?.packId ? active : undefined;

  // Follow the active pack: the form starts on it, and moves on when the chosen one is unloaded.
  useEffect(() => {
    if (active && active.id !== form?.packId) void useGeneration.getState().initForm(active.id, active.manifest);
  }, [active, form?.packId]);

  if (!active) {
    return (
      <p className="muted">No pack is loaded yet. Load one in the Models tab (the built-in pack loads on start).</p>
    );
  }
  return (
    <div className="generate">
      <section className="panel generate-form" aria-label="Generation settings">
        {pack && form && (
          <>
            <label>
              Pack{" "}
              <select
                aria-label="Pack"
                value={form.packId}
                onChange={(e) =>
                  void useGeneration.getState().initForm(e.target.value, loaded[e.target.value].manifest)
                }
              >
                {packIds.map((id) => (
                  <option key={id} value={id}>
                    {loaded[id].manifest.title} ({id}, {loaded[id].provider})
                  </option>
                ))}
              </select>
            </label>
            <ReferencePicker packId={form.packId} manifest={pack.manifest} />
            <SettingsForm manifest={pack.manifest} settings={form.settings} />
            <AdapterSelect packId={form.packId} value={form.adapter} />
            <button
              type="button"
              className="primary"
              disabled={!form.referenceImage}
              onClick={() => void useGeneration.getState().generate()}
            >
              Generate
            </button>
          </>
        )}
      </section>
      <section className="results" aria-label="Results">
        {cards.length === 0 && <p className="muted">Results appear here, newest first.</p>}
        {cards.map((c) => (
          <RunCardView key={c.id} card={c} manifest={loaded[c.settings.packId]?.manifest} />
        ))}
      </section>
    </div>
  );
}

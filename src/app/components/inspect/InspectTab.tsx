/** Inspect tab: patch-quality heatmaps of a generated image against its reference. */
import { useEffect } from "react";
import { COLORMAPS, type ColormapName } from "../../../core/quality/heatmap";
import { useEncoders } from "../../stores/encoders";
import { enhancedLabel, useEnhance } from "../../stores/enhance";
import { ENHANCED, useInspect } from "../../stores/inspect";
import { useActivePack } from "../../stores/packs";
import { type SelectedImage, useSelection } from "../../stores/selection";
import { useSettings } from "../../stores/settings";
import { exportHeatmapPng, exportMapsJson } from "./exports";
import { Histogram } from "./Histogram";
import { ImageSlot } from "./ImageSlot";
import { PairView } from "./PairView";
import { SubjectsView } from "./SubjectsView";
import { UserEncoderForm } from "./UserEncoderForm";

/** The selection last opened here, so that returning to the tab does not undo the user's own uploads. */
const opened: { reference?: SelectedImage; generated?: SelectedImage } = {};

/** Opens what the Generate tab sent ("send to Inspect") whenever it changes. */
function useSelectionSync() {
  const reference = useSelection((s) => s.reference);
  const generated = useSelection((s) => s.generated);
  useEffect(() => {
    if (!reference || opened.reference === reference) return;
    opened.reference = reference;
    useInspect.getState().setImage("reference", reference);
  }, [reference]);
  const second = useSelection((s) => s.second);
  useEffect(() => {
    if (!generated || opened.generated === generated) return;
    opened.generated = generated;
    useInspect.getState().setImage("generated", generated);
    // An image of a two-subject scene opens with subject B's reference; any other clears it.
    const inspect = useInspect.getState();
    if (second) inspect.setImage("second", second);
    else inspect.clearSecond();
  }, [generated, second]);
}

/** The pack's patch encoder, an enhanced one (Train tab) or a registered one (Models tab); the hand-written form is below. */
function EncoderPicker({ packLabel, packId }: { packLabel: string; packId?: string }) {
  const records = useEncoders((s) => s.records);
  const ready = useEncoders((s) => s.ready);
  const enhanced = useEnhance((s) => s.runs).filter((r) => r.step > 0 && r.packId === packId);
  const user = useInspect((s) => s.userEncoder);
  const chosen = useSettings((s) => s.encoderChoice.inspect);
  useEffect(() => {
    void useEnhance.getState().refresh();
  }, []);
  // Restore the persisted choice once the registry is read (after a reload).
  useEffect(() => {
    if (!ready || !chosen) return;
    const current = useInspect.getState().userEncoder;
    if (chosen.startsWith(ENHANCED)) {
      if (current?.enhanced?.id !== chosen.slice(ENHANCED.length))
        void useInspect.getState().useEnhanced(chosen.slice(ENHANCED.length));
    } else if (current?.registered?.id === chosen) return;
    else if (records.some((r) => r.id === chosen)) void useInspect.getState().useRegistered(chosen);
    else useSettings.getState().setEncoderChoice("inspect", undefined);
  }, [ready, chosen, records]);
  // An encoder deleted on the Models tab: back to the pack's.
  useEffect(() => {
    const current = useInspect.getState().userEncoder?.registered?.id;
    if (ready && current && !records.some((r) => r.id === current)) void useInspect.getState().useRegistered(undefined);
  }, [ready, records]);
  const value = user?.registered
    ? user.registered.id
    : user?.enhanced
      ? `${ENHANCED}${user.enhanced.id}`
      : user
        ? "__form"
        : "";
  return (
    <label>
      Patch encoder{" "}
      <select
        aria-label="Patch encoder"
        value={value}
        onChange={(e) => {
          const v = e.target.value;
          if (v.startsWith(ENHANCED)) void useInspect.getState().useEnhanced(v.slice(ENHANCED.length));
          else if (v !== "__form") void useInspect.getState().useRegistered(v || undefined);
        }}
      >
        <option value="">{packLabel}</option>
        {enhanced.map((r) => (
          <option key={r.id} value={`${ENHANCED}${r.id}`}>
            {enhancedLabel(r)}
          </option>
        ))}
        {records.map((r) => (
          <option key={r.id} value={r.id}>
            {r.title} ({r.modelType}, registered)
          </option>
        ))}
        {user && !user.registered && !user.enhanced && (
          <option value="__form">{user.spec.file} (description below)</option>
        )}
      </select>
    </label>
  );
}

function ViewControls() {
  const view = useInspect((s) => s.view);
  const setView = useInspect((s) => s.setView);
  return (
    <section className="panel row" aria-label="Heatmap settings">
      <label>
        Colormap{" "}
        <select value={view.colormap} onChange={(e) => setView({ colormap: e.target.value as ColormapName })}>
          {COLORMAPS.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </label>
      <label>
        Opacity{" "}
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={view.opacity}
          onChange={(e) => setView({ opacity: Number(e.target.value) })}
        />
      </label>
      <label>
        Show patches below{" "}
        <input
          type="range"
          min={-1}
          max={1.01}
          step={0.01}
          value={view.threshold}
          aria-label="Threshold"
          onChange={(e) => setView({ threshold: Number(e.target.value) })}
        />{" "}
        {view.threshold > 1 ? "all" : view.threshold.toFixed(2)}
      </label>
      <label>
        <input type="checkbox" checked={view.autoRange} onChange={(e) => setView({ autoRange: e.target.checked })} />{" "}
        Colour scale min–max
      </label>
      <label>
        <input
          type="checkbox"
          checked={view.reverse}
          aria-label="Reverse view"
          onChange={(e) => setView({ reverse: e.target.checked })}
        />{" "}
        Reverse view (coverage of reference patches)
      </label>
    </section>
  );
}

export function InspectTab() {
  useSelectionSync();
  const pack = useActivePack({ role: "patch_encoder" });
  const { reference, generated, second, userEncoder, result, secondResult, error, busy, view, pinned } = useInspect();

  useEffect(() => {
    if (reference && generated) void useInspect.getState().compute(pack, reference, generated, userEncoder, second);
  }, [pack, reference, generated, userEncoder, second]);

  const encoderText = userEncoder?.registered
    ? `${userEncoder.registered.title} (${userEncoder.registered.file})`
    : userEncoder?.enhanced
      ? `${userEncoder.enhanced.label}, enhanced ${userEncoder.enhanced.packId} patch_encoder at step ${userEncoder.enhanced.step} (S_patch ${userEncoder.enhanced.sPatchBefore?.toFixed(3)} → ${userEncoder.enhanced.sPatch?.toFixed(3)})`
      : userEncoder
        ? userEncoder.spec.file
        : pack
          ? `${pack.id} patch_encoder`
          : "no encoder loaded";
  // With processor steps (resize, crop) the grid covers the images as the encoder saw them.
  const shown = result?.seen;
  return (
    <div className="inspect">
      <section className="row">
        <ImageSlot slot="reference" />
        <ImageSlot slot="generated" />
        <ImageSlot slot="second" />
      </section>
      {error && (
        <div className="error-box" role="alert" data-testid="inspect-error">
          {error}
        </div>
      )}
      <section className="row">
        <EncoderPicker
          packId={pack?.id}
          packLabel={pack ? `${pack.id} patch_encoder (pack)` : "the pack's patch_encoder (none loaded)"}
        />
        {userEncoder?.registered && (
          <span className="muted" data-testid="registered-encoder">
            {userEncoder.registered.file} on {userEncoder.registered.provider === "webgpu" ? "WebGPU" : "WASM"}; grid{" "}
            {userEncoder.spec.grid.join("×")}, skipping {userEncoder.spec.skip_tokens} token
            {userEncoder.spec.skip_tokens === 1 ? "" : "s"}
          </span>
        )}
      </section>
      <ViewControls />
      <p className="muted" data-testid="inspect-status">
        Encoder: {encoderText}.{" "}
        {busy
          ? "Computing…"
          : result && (
              <span data-testid="quality-backend" data-backend={result.backend} data-features={result.features}>
                Quality kernel: {result.backend === "webgpu" ? "WGSL (WebGPU)" : "CPU reference"}
                {result.features === "gpu-buffer" ? ", fed the encoder's GPU output in place" : ""}
                {result.backendNote ? ` (${result.backendNote})` : ""};{" "}
                {/* With in-place features the encoder's GPU work finishes inside the kernel's readback, so only the sum is meaningful. */}
                encoder and quality {(result.encoderMs + result.qualityMs).toFixed(0)} ms.
              </span>
            )}
      </p>
      {reference && generated ? (
        <PairView
          reference={shown?.reference ?? reference.rgba}
          generated={shown?.generated ?? generated.rgba}
          maps={result?.maps}
          view={view}
          pinned={pinned}
          onPin={useInspect.getState().setPinned}
        />
      ) : (
        <p className="panel">Choose or drop a reference and a generated image, or send them from the Generate tab.</p>
      )}
      {shown && reference && generated && (
        <p className="muted" data-testid="seen-note">
          Shown as the encoder saw them: its image processor's resize and center crop to {shown.generated.width}×
          {shown.generated.height} pixels; the patch grid covers this.
        </p>
      )}
      {result && reference && generated && (
        <section className="row">
          <Histogram
            values={view.reverse ? result.maps.ref : result.maps.gen}
            threshold={view.threshold}
            label={view.reverse ? "Reference coverage" : "Generated patch quality"}
          />
          <div>
            <button
              type="button"
              onClick={() =>
                void exportHeatmapPng(
                  view.reverse ? (shown?.reference ?? reference.rgba) : (shown?.generated ?? generated.rgba),
                  result.maps,
                  view,
                )
              }
            >
              Export heatmap PNG
            </button>{" "}
            <button
              type="button"
              onClick={() => exportMapsJson(result, { reference: reference.label, generated: generated.label })}
            >
              Export maps JSON
            </button>
            <p className="muted">Hover a patch to see its best match; click to pin it.</p>
          </div>
        </section>
      )}
      {result && secondResult && reference && generated && second && (
        <SubjectsView
          generated={shown?.generated ?? generated.rgba}
          references={[shown?.reference ?? reference.rgba, secondResult.seen?.reference ?? second.rgba]}
          maps={[result.maps, secondResult.maps]}
          background={pack?.manifest.image.background ?? [255, 255, 255]}
          view={view}
        />
      )}
      <UserEncoderForm />
    </div>
  );
}

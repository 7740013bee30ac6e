import { formatBytes } from "../../core/pack";
import { usePacks } from "../stores/packs";
import { useSettings } from "../stores/settings";
import { useStorage } from "../stores/storage";
import { EncoderRegistry } from "./EncoderRegistry";
import { PackList } from "./PackList";
import { PackSourcePicker } from "./PackSourcePicker";

export function ModelsTab() {
  const lastError = usePacks((s) => s.lastError);
  const {
    executionProvider,
    setExecutionProvider,
    trainingEngine,
    setTrainingEngine,
    autoLoadBuiltin,
    setAutoLoadBuiltin,
  } = useSettings();
  const { usage, quota, persisted } = useStorage();
  return (
    <div className="models">
      {lastError && (
        <div className="error-box" role="alert" data-testid="pack-error">
          <strong>Pack failed to load.</strong>
          <pre>{lastError}</pre>
        </div>
      )}
      <PackSourcePicker />
      <section className="panel row" aria-label="Pack settings">
        <label>
          Run ONNX models on{" "}
          <select
            value={executionProvider}
            onChange={(e) => setExecutionProvider(e.target.value as typeof executionProvider)}
          >
            <option value="auto">auto (the faster, measured at a pack's first load)</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
        <label>
          Train adapters on{" "}
          <select value={trainingEngine} onChange={(e) => setTrainingEngine(e.target.value as typeof trainingEngine)}>
            <option value="auto">auto (the faster, measured at the first run)</option>
            <option value="webgpu">the WGSL engine (WebGPU)</option>
            <option value="cpu">the CPU engine</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={autoLoadBuiltin} onChange={(e) => setAutoLoadBuiltin(e.target.checked)} />{" "}
          Load the built-in pack on start
        </label>
        {usage !== undefined && quota !== undefined && (
          <span className="muted" data-testid="storage-usage" data-persisted={String(persisted)}>
            Browser storage: {formatBytes(usage)} of {formatBytes(quota)} used
            {persisted ? " (persistent)" : " (the browser may evict it under pressure)"}
          </span>
        )}
      </section>
      <PackList />
      <EncoderRegistry />
    </div>
  );
}

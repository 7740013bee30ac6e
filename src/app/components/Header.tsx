/** Title, this tab's label and the compute backend the inference worker found (WebGPU adapter or why not). */
import { useCompute } from "../stores/compute";
import { useSettings } from "../stores/settings";
import { useTabLabel } from "../tab-label";

export function Header() {
  const { env, error } = useCompute();
  const choice = useSettings((s) => s.executionProvider);
  const tab = useTabLabel((s) => s.label);
  let backend: string;
  if (error) backend = `Compute backend unknown: ${error}`;
  else if (!env) backend = "Detecting compute backend…";
  else if (env.webgpu.available) backend = `WebGPU: ${env.webgpu.adapter.name}`;
  else backend = `WASM (WebGPU unavailable: ${env.webgpu.reason})`;
  const provider = env ? (choice === "auto" ? env.autoProvider : choice) : undefined;
  return (
    <header className="header">
      <h1>PatchDPO Studio</h1>
      <span
        className="tab-label muted"
        data-testid="tab-label"
        data-label={tab}
        title="This tab's label: another studio tab refused a run it trains names it"
      >
        tab {tab}
      </span>
      <div
        className="backend"
        data-provider={provider}
        data-adapter={env?.webgpu.available ? env.webgpu.adapter.name : undefined}
        data-cores={env?.cores}
      >
        <span data-testid="compute-backend">{backend}</span>
        {env && (
          <span className="muted">
            {" · "}ONNX runtime on {provider === "webgpu" ? "WebGPU" : "WASM"}
            {choice === "auto" && <span data-testid="auto-reason"> (auto: {env.autoReason})</span>}
            {" · "}
            {env.crossOriginIsolated ? `${env.wasmThreads} WASM thread(s)` : "not cross-origin isolated (1 thread)"}
          </span>
        )}
      </div>
    </header>
  );
}

/**
 * What "auto" means for ONNX Runtime: the backend measured faster on this device. At a pack's
 * first load here, one denoiser call (after a warm-up call, which pays for shader compilation)
 * is timed on WASM and on WebGPU, and the faster is kept in IndexedDB per pack model and device,
 * so later loads only read it. A software WebGPU adapter (SwiftShader in a VM or without a GPU)
 * is not timed at load: it runs WebGPU on the CPU, tens of times slower than WASM, and timing it
 * would cost the first load as much again (32 s for emoji64 here). `measure` times it anyway.
 */
import { zeroFeeds } from "../src/core/pack/feeds";
import { type Manifest, requireRole } from "../src/core/pack/manifest";
import { fasterBy } from "../src/core/timing";
import { type GpuProbe, isSoftwareAdapter } from "../src/gpu/device";
import type { BackendChoice, ExecutionProvider } from "./inference-api";
import { recalled, remember } from "./measured-choices";
import { createRoleSession, releaseSession, runSession } from "./ort-sessions";

/** The choice before any measurement: WASM without WebGPU or on a software adapter. */
export function guessBackend(probe: GpuProbe): BackendChoice {
  if (!probe.available) return { provider: "wasm", reason: `WebGPU unavailable: ${probe.reason}` };
  if (isSoftwareAdapter(probe.adapter))
    return { provider: "wasm", reason: `WebGPU adapter "${probe.adapter.name}" is software; not measured yet` };
  return { provider: "webgpu", reason: `WebGPU adapter "${probe.adapter.name}"; not measured yet` };
}

function softwareChoice(name: string): BackendChoice {
  return { provider: "wasm", reason: `WASM: WebGPU adapter "${name}" is software (it runs on the CPU); not timed` };
}

/** Wall time of one denoiser call at batch 2 (a guided step), after one warm-up call. */
async function timeDenoiser(manifest: Manifest, model: Uint8Array, provider: ExecutionProvider): Promise<number> {
  const session = await createRoleSession("denoiser", model, provider);
  try {
    const feeds = zeroFeeds(requireRole(manifest, "denoiser").inputs, 2, manifest.roles.image_encoder?.tokens);
    await runSession(session, feeds);
    let ms = 0;
    await runSession(session, feeds, (t) => {
      ms = t;
    });
    return ms;
  } finally {
    await releaseSession(session);
  }
}

function explain(provider: ExecutionProvider, ms: Record<ExecutionProvider, number>, probe: GpuProbe): string {
  const other: ExecutionProvider = provider === "wasm" ? "webgpu" : "wasm";
  const name = (p: ExecutionProvider) => (p === "wasm" ? "WASM" : "WebGPU");
  const software = probe.available && isSoftwareAdapter(probe.adapter) ? " (software adapter)" : "";
  return `${name(provider)}: ${fasterBy(ms[other], ms[provider])} than ${name(other)}${provider === "wasm" ? software : ""} on one denoiser call (${ms.wasm.toFixed(0)} vs ${ms.webgpu.toFixed(0)} ms, WASM vs WebGPU)`;
}

/**
 * The backend "auto" uses for `manifest`'s pack on this device: read from IndexedDB when measured
 * before, else measured now (both backends, one denoiser call each) and stored; WASM untimed on
 * a software adapter unless `measure`, which times both backends whatever is known.
 */
export async function chooseBackend(
  manifest: Manifest,
  model: Uint8Array,
  probe: GpuProbe,
  device: string,
  measure = false,
): Promise<BackendChoice> {
  if (!probe.available) return guessBackend(probe);
  const key = `${manifest.id}:${requireRole(manifest, "denoiser").sha256}|${probe.adapter.name}|${device}`;
  if (!measure) {
    const known = await recalled<BackendChoice>("backend", key);
    if (known) return known;
    if (isSoftwareAdapter(probe.adapter)) return softwareChoice(probe.adapter.name);
  }
  const ms = {
    wasm: await timeDenoiser(manifest, model, "wasm"),
    webgpu: await timeDenoiser(manifest, model, "webgpu"),
  };
  const provider: ExecutionProvider = ms.webgpu < ms.wasm ? "webgpu" : "wasm";
  const choice: BackendChoice = {
    provider,
    reason: explain(provider, ms, probe),
    ms,
    measuredAt: new Date().toISOString(),
  };
  // A full quota only costs a measurement at the next load.
  await remember("backend", key, choice);
  return choice;
}

/**
 * `engine`: the WGSL training engine against onnxruntime-web's WebGPU backend on the same adapter
 * (headless Chromium), served by a Vite dev server so the engine modules load unbundled: matmul
 * GFLOP/s ratio, one adapter training step of the built-in denoiser at batch 8 over one ORT
 * forward of the same batch, and training steps per second (src/gpu/engine.bench.ts). Uses the
 * emoji64 pack when it has been exported, else the tiny pack (reported as `pack`).
 * In the same page, the TensorFlow.js peer (bench/peer/, issue 17) on one PatchDPO batch:
 * `train_step_vs_tfjs_webgpu` (tfjs-webgpu step ÷ WGSL engine step), `train_step_vs_tfjs_wasm`
 * (tfjs-wasm step ÷ CPU engine step) and `tfjs_parity_rel_err`, checked before any timing.
 * Then `cpu_step_vs_torch`: the CPU engine's step in the page ÷ the foundry's PyTorch trainer's
 * step on the same kind of batch (PatchDPO, the peer's 4 draws), with every core: the physical-limit
 * anchor on a CPU.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPack } from "../../scripts/train/headless";
import type { Scenario } from "../harness";
import { peerInPage } from "../peer/in-page";
import { PARITY_LIMIT } from "../peer/parity";
import { timingConfig, torchMsPerStep, writeTimingDataset } from "../torch-step";

/** The peer's draws per step (bench/peer/tfjs-step.bench.ts' default), which PyTorch is timed on too. */
const PEER_DRAWS = 4;

async function torchStepMs(packId: string, threads: number): Promise<number> {
  const pack = openPack(packId);
  const dir = mkdtempSync(join(tmpdir(), "engine-torch-"));
  try {
    const config = timingConfig(packId, 6, PEER_DRAWS);
    return await torchMsPerStep(pack, writeTimingDataset(pack, dir), dir, "torch", config, threads);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const engine: Scenario = {
  description:
    "WGSL engine vs onnxruntime-web WebGPU: matmul GFLOP/s, train step ÷ forward, steps/s; train step vs a TensorFlow.js peer",
  async run(h) {
    const pack = existsSync("public/models/emoji64/denoiser.onnx") ? "emoji64" : "tiny";
    return h.devServerPage("src/gpu/engine.bench.ts", async (page) => {
      // tsx compiles the callback below with esbuild's keepNames, which calls a `__name` helper.
      await page.evaluate("globalThis.__name = (f) => f");
      const result = await page.evaluate(
        async ([packId, contextPath, benchPath, ortPath]) => {
          const { GpuContext } = await import(/* @vite-ignore */ contextPath);
          const { benchEngine } = await import(/* @vite-ignore */ benchPath);
          const ort = await import(/* @vite-ignore */ ortPath);
          ort.env.wasm.wasmPaths = {
            mjs: "/ort/ort-wasm-simd-threaded.jsep.mjs",
            wasm: "/ort/ort-wasm-simd-threaded.jsep.wasm",
          };
          ort.env.logLevel = "error";
          const ctx = await GpuContext.create(navigator.gpu);
          try {
            const metrics = await benchEngine(ctx, ort, {
              executionProvider: "webgpu",
              readPackFile: async (name: string) =>
                new Uint8Array(await (await fetch(`/models/${packId}/${name}`)).arrayBuffer()),
            });
            return { metrics, adapter: ctx.adapter.name as string };
          } finally {
            ctx.destroy();
          }
        },
        [
          pack,
          "/src/gpu/context.ts",
          "/src/gpu/engine.bench.ts",
          "/node_modules/onnxruntime-web/dist/ort.bundle.min.mjs",
        ],
      );
      const peer = await peerInPage(page, pack, { draws: PEER_DRAWS });
      // The page module already refuses to time a peer that disagrees; never report one that slipped through.
      if (!(peer.tfjs_parity_rel_err <= PARITY_LIMIT))
        throw new Error(`tfjs peer parity ${peer.tfjs_parity_rel_err} > ${PARITY_LIMIT}`);
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      const torch_step_ms = await torchStepMs(pack, cores);
      const cpu_step_vs_torch = peer.peer_step_ms.cpu / torch_step_ms;
      return {
        metrics: { ...result.metrics, ...peer, cpu_step_vs_torch, torch_step_ms },
        env: { backend: "webgpu", adapter: result.adapter, cores },
      };
    });
  },
};

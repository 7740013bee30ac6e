/**
 * `generation`: time per image at 25 steps for the built-in pack (emoji64 if present, else tiny)
 * in headless Chromium, with ONNX models on WASM and on WebGPU, through the inference worker's
 * generate() (window.patchdpo), batch 1, no previews. One warm-up run per backend (session warm-up,
 * shader compilation, reference tokens), then timed runs with different seeds. `overhead_ratio` is
 * the whole request's time in the worker ÷ the sum of its session.run calls, for the backend the
 * studio picks by itself ("auto"); both backends' ratios are reported too. A third, fresh page
 * loads the pack with "auto", which times one denoiser call on each backend (workers/backend-choice.ts):
 * `auto_choice_correct` is 1 when it picked the backend measured faster per image here.
 */
import { existsSync } from "node:fs";
import type { Page } from "@playwright/test";
import type {} from "../../src/app/services/devtools"; // window.patchdpo's type
import { median } from "../../src/core/timing.ts";
import { type Harness, type Scenario, studioEnv } from "../harness";

const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
const STEPS = 25;
const TIMED_RUNS = 3;

interface RunTiming {
  totalMs: number;
  sessionMs: number;
  sessionRuns: number;
}

async function openStudio(h: Harness, provider: "auto" | "wasm" | "webgpu"): Promise<Page> {
  const page = await h.freshPage();
  await page.addInitScript(
    (ep) =>
      localStorage.setItem(
        "patchdpo-settings",
        JSON.stringify({ state: { tab: "models", executionProvider: ep, autoLoadBuiltin: true }, version: 1 }),
      ),
    provider,
  );
  await page.goto(`${await h.studioUrl()}?pack=${packId}`);
  await page.locator(`[data-pack-id="${packId}"][data-loaded="true"]`).waitFor({ timeout: 600_000 });
  return page;
}

/** Generates with each seed in turn; returns the worker's timing of each run. */
function timeRuns(page: Page, seeds: number[]): Promise<RunTiming[]> {
  return page.evaluate(
    async ({ packId, steps, seeds }) => {
      const studio = window.patchdpo;
      if (!studio) throw new Error("window.patchdpo is missing");
      const manifest = await studio.inference
        .call((api) => api.cachedPacks())
        .then((r) => r.find((p) => p.id === packId)?.manifest);
      const subject = manifest?.gallery?.heldout[0];
      if (!subject) throw new Error(`pack ${packId} has no held-out subject`);
      const timings: RunTiming[] = [];
      for (const seed of seeds) {
        const out = await studio.inference.call((api) =>
          api.generate(
            `bench-${seed}`,
            {
              packId,
              reference: { kind: "gallery", id: subject.id },
              adapter: { kind: "base" },
              settings: {
                prompt: {},
                seed,
                batch: 1,
                steps,
                sampler: "ddim",
                guidanceImage: 3,
                guidancePrompt: 2,
                ipScale: 1,
              },
            },
            studio.callback(() => {}),
          ),
        );
        timings.push(out.timing);
      }
      return timings;
    },
    { packId, steps: STEPS, seeds },
  );
}

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

async function measure(h: Harness, provider: "wasm" | "webgpu") {
  const page = await openStudio(h, provider);
  await timeRuns(page, [1000]); // warm-up
  const runs = await timeRuns(
    page,
    Array.from({ length: TIMED_RUNS }, (_, i) => i),
  );
  const env = await studioEnv(page);
  await page.context().close();
  const total = runs.reduce((a, r) => a + r.totalMs, 0);
  const session = runs.reduce((a, r) => a + r.sessionMs, 0);
  return {
    msPerImage: median(runs.map((r) => r.totalMs)),
    overhead: total / session,
    runsPerImage: runs[0].sessionRuns,
    env,
  };
}

export const generation: Scenario = {
  description: `time per image at ${STEPS} steps on WASM and WebGPU, and pipeline overhead over ONNX session runs`,
  async run(h) {
    const wasm = await measure(h, "wasm");
    const webgpu = await measure(h, "webgpu");
    const autoPage = await openStudio(h, "auto");
    const chosen = await autoPage.evaluate(() => window.patchdpo?.inference.call((api) => api.environment()));
    const wasmThreads = chosen?.wasmThreads;
    await autoPage.context().close();
    const faster = wasm.msPerImage <= webgpu.msPerImage ? "wasm" : "webgpu";
    // The headline overhead is that of the backend the studio picks by itself ("auto").
    const auto = chosen?.autoProvider === "webgpu" ? webgpu : wasm;
    const env = { ...webgpu.env, backend: chosen?.autoProvider ?? "unknown", auto_reason: chosen?.autoReason };
    return {
      metrics: {
        ms_per_image_wasm: round(wasm.msPerImage),
        ms_per_image_webgpu: round(webgpu.msPerImage),
        overhead_ratio: round(auto.overhead, 3),
        overhead_ratio_wasm: round(wasm.overhead, 3),
        overhead_ratio_webgpu: round(webgpu.overhead, 3),
        session_runs_per_image: wasm.runsPerImage,
        auto_choice_correct: chosen?.autoProvider === faster ? 1 : 0,
        wasm_threads: wasmThreads ?? 0,
        steps: STEPS,
        pack: packId,
      },
      env,
    };
  },
};

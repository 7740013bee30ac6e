/**
 * `quality`:
 * - `kernel_speedup_vs_cpu`: the WGSL patch-quality kernel against the CPU reference on 64 pairs
 *   of 8×8×64 features, both in headless Chromium (the studio's WebGPU adapter), served by a Vite
 *   dev server so the kernel modules load unbundled;
 * - `hover_latency_ms`: on the built studio's Inspect tab, median time from a pointer move onto a
 *   new patch to the DOM commit of its match highlight (the "inspect-hover" performance measure);
 * - `auroc_trained_encoder`, `auroc_random_encoder`, `auroc_independent` (the pack's independent
 *   evaluator): the EmojiBench estimator check (bench/estimator.ts) in Node, with `auroc_*_subject`
 *   over subject blocks when the fixture has a subject mask; null with `estimator_note` while the
 *   foundry fixture is missing.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import { estimatorCheck } from "../estimator";
import type { Harness, Scenario } from "../harness";

async function kernelSpeedup(h: Harness) {
  // Any same-origin document will do; the bench module itself avoids booting the studio.
  return h.devServerPage("src/gpu/kernels/quality.bench.ts", async (page) => {
    const result = await page.evaluate(
      async ([contextPath, benchPath]) => {
        const { GpuContext } = await import(/* @vite-ignore */ contextPath);
        const { benchQualityKernel } = await import(/* @vite-ignore */ benchPath);
        const ctx = await GpuContext.create(navigator.gpu);
        try {
          return { metrics: await benchQualityKernel(ctx), adapter: ctx.adapter.name as string };
        } finally {
          ctx.destroy();
        }
      },
      ["/src/gpu/context.ts", "/src/gpu/kernels/quality.bench.ts"],
    );
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    return { ...result, cores };
  });
}

/** Two gallery images of the built-in pack the studio opens by default. */
function galleryPair(): { pack: string; files: [string, string] } {
  const pack = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
  const manifest = JSON.parse(readFileSync(`public/models/${pack}/manifest.json`, "utf8"));
  const entries = [...manifest.gallery.heldout, ...manifest.gallery.train];
  return { pack, files: [`public/models/${pack}/${entries[0].file}`, `public/models/${pack}/${entries[1].file}`] };
}

async function hoverLatency(h: Harness, moves = 40): Promise<{ median: number; p95: number; pack: string }> {
  const { pack, files } = galleryPair();
  const page: Page = await h.freshPage();
  try {
    await page.goto(`${await h.studioUrl()}?pack=${pack}`);
    await page.locator(`[data-pack-id="${pack}"][data-loaded="true"]`).waitFor({ timeout: 120_000 });
    await page.getByRole("tab", { name: "Inspect" }).click();
    await page.getByLabel("Choose reference image").setInputFiles(files[0]);
    await page.getByLabel("Choose generated image").setInputFiles(files[1]);
    await page.getByTestId("quality-backend").waitFor({ timeout: 120_000 });
    const panel = await page.getByTestId("heatmap-panel").boundingBox();
    if (!panel) throw new Error("no heatmap panel on the Inspect tab");
    await page.evaluate(() => performance.clearMeasures("inspect-hover"));
    for (let i = 0; i < moves; i++) {
      // Alternate far-apart patches so every move lands on a new one.
      const u = ((i * 7) % 16) / 16 + 1 / 32;
      const v = ((i * 5 + 3) % 16) / 16 + 1 / 32;
      await page.mouse.move(panel.x + u * panel.width, panel.y + v * panel.height);
    }
    const times = await page.evaluate(() => performance.getEntriesByName("inspect-hover").map((e) => e.duration));
    if (times.length < moves / 2) throw new Error(`only ${times.length} of ${moves} hovers were measured`);
    times.sort((a, b) => a - b);
    return { median: times[times.length >> 1], p95: times[Math.floor(times.length * 0.95)], pack };
  } finally {
    await page.context().close();
  }
}

async function estimator() {
  try {
    return await estimatorCheck();
  } catch (e) {
    return {
      auroc_trained_encoder: null,
      auroc_random_encoder: null,
      auroc_independent: null,
      estimator_note: (e as Error).message,
    };
  }
}

export const quality: Scenario = {
  description: "WGSL quality kernel vs CPU (64 pairs), Inspect hover latency, EmojiBench estimator AUROC",
  async run(h) {
    const kernel = await kernelSpeedup(h);
    const hover = await hoverLatency(h);
    const est = await estimator();
    return {
      metrics: {
        ...kernel.metrics,
        hover_latency_ms: hover.median,
        hover_latency_p95_ms: hover.p95,
        hover_pack: hover.pack,
        ...est,
      },
      env: { backend: "webgpu", adapter: kernel.adapter, cores: kernel.cores },
    };
  },
};

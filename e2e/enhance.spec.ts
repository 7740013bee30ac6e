/**
 * Patch-encoder enhancement in Chromium with the tiny pack: real IndexedDB, the WGSL engine on
 * SwiftShader, real onnxruntime-web for the enhanced encoder. The worker test pauses a run,
 * reloads the page, resumes it and compares the result with the same run trained straight through
 * and with one whose GPU device is destroyed mid-run. The UI test goes the researcher's way: upload
 * 4 images, enhance for a few steps, watch S_patch, export the encoder, choose it in Inspect and
 * see the heatmap change, build a dataset whose maps come from it (and that records it), and score
 * a Compare cell with it.
 */
import { readFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import { DEFAULT_ENHANCE, type EnhanceConfig } from "../src/core/enhance/run";
import { parseSafetensors } from "../src/core/safetensors";
import type { EnhanceRecord } from "../workers/enhance-api";
import { expectLoaded, openTinyOnWasm, prepareTinyDataset, TINY_DIR } from "./helpers";

test.setTimeout(600_000);

const TRAIN_IMAGES = ["1f004", "1f45f", "1f5d3-fe0f", "1f991"];
const CONFIG: EnhanceConfig = {
  ...DEFAULT_ENHANCE,
  steps: 6,
  batchPairs: 4,
  evalEvery: 2,
  checkpointEvery: 2,
  evalPairs: 8,
  lr: 2e-3,
};

/** Enhances on four gallery subjects in the page; `pauseAt` pauses after that step, `loseAt` destroys the GPU device after it. */
function enhance(page: Page, id: string, pauseAt = 0, loseAt = 0): Promise<EnhanceRecord> {
  return page.evaluate(
    async ({ id, config, subjects, pauseAt, loseAt }) => {
      const studio = window.patchdpo;
      if (!studio) throw new Error("window.patchdpo is missing");
      const images = await Promise.all(
        subjects.map(async (s) => ({
          label: s,
          rgba: await studio.inference.call((api) => api.galleryReference("tiny", s)),
        })),
      );
      let lost = false;
      return studio.training.call((api) =>
        api.enhance(
          id,
          "tiny",
          id,
          images,
          config,
          studio.callback((e) => {
            if (e.kind === "step" && e.report.step === pauseAt) void studio.training.call((a) => a.pauseEnhance(id));
            if (e.kind === "step" && e.report.step === loseAt && !lost) {
              lost = true;
              void studio.training.call((a) => a.testLoseDevice(id));
            }
          }),
        ),
      );
    },
    { id, config: CONFIG, subjects: TRAIN_IMAGES, pauseAt, loseAt },
  );
}

const exported = async (page: Page, id: string) => {
  const bytes = await page.evaluate(async (id) => {
    const studio = window.patchdpo;
    if (!studio) throw new Error("window.patchdpo is missing");
    return Array.from(new Uint8Array(await studio.training.call((api) => api.exportEncoder(id))));
  }, id);
  return parseSafetensors(Uint8Array.from(bytes), `${id}.safetensors`);
};

test("enhance: pause, reload and resume; a lost device resumes; all three end at the same weights", async ({
  page,
}) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);

  const straight = await enhance(page, "e2e-straight");
  expect(straight.status).toBe("done");
  expect(straight.backend).toBe("webgpu");
  expect(straight.sPatch.map((p) => p.step)).toEqual([0, 2, 4, 6]);
  expect(straight.history.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);

  const paused = await enhance(page, "e2e-paused", 3);
  expect(paused.status).toBe("paused");
  expect(paused.step).toBeGreaterThanOrEqual(3);
  await page.reload();
  await expectLoaded(page, "tiny", 120_000);
  const resumed = await enhance(page, "e2e-paused");
  expect(resumed.status).toBe("done");
  expect(resumed.history.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);

  const lost = await enhance(page, "e2e-lost", 0, 3);
  expect(lost.status).toBe("done");
  expect(lost.message).toMatch(/GPU device was lost.*resumed on a new device from the checkpoint at step 2/);

  const want = await exported(page, "e2e-straight");
  expect(want.metadata?.s_patch).toBe(String(straight.sPatch.at(-1)?.top1));
  for (const other of ["e2e-paused", "e2e-lost"]) {
    const got = await exported(page, other);
    for (const [name, t] of want.tensors) {
      const g = got.tensors.get(name)?.data as Float32Array;
      const w = t.data as Float32Array;
      const err = Math.max(...w.map((v, i) => Math.abs(v - g[i])));
      expect(err, `${other} ${name}`).toBeLessThan(1e-5);
    }
  }
});

/** ONNX on WASM, as the Dataset tab's tests: ORT's WebGPU EP on SwiftShader is far slower here. */
test("enhance in the UI: 4 uploads, S_patch chart, export; the enhanced encoder in Inspect, Dataset and Compare", async ({
  page,
  context,
}) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await openTinyOnWasm(page, context);
  await page.getByRole("tab", { name: "Train" }).click();
  const panel = page.getByRole("region", { name: "Encoder" });
  await panel.getByLabel("Encoder images").setInputFiles(TRAIN_IMAGES.map((s) => `${TINY_DIR}/gallery/${s}.png`));
  await expect(panel.getByTestId("enhance-images").locator("figure")).toHaveCount(4);
  await expect(panel.getByTestId("enhance-images")).toContainText("held out");
  await panel.getByLabel("Encoder name").fill("tiny-enhanced");
  await panel.getByLabel("Encoder steps").fill("6");
  await panel.getByLabel("Pairs per step").fill("4");
  await panel.getByLabel("Encoder learning rate").fill("0.003");
  await panel.getByLabel("S_patch every").fill("2");
  await panel.getByRole("button", { name: "Enhance encoder" }).click();

  const status = panel.getByTestId("enhance-status");
  await expect(status).toHaveAttribute("data-status", "done", { timeout: 300_000 });
  await expect(panel.locator('[data-metric="S_patch (held-out)"]')).toHaveAttribute("data-points", "4");
  const summary = panel.getByTestId("s-patch-summary");
  const before = Number(await summary.getAttribute("data-before"));
  const after = Number(await summary.getAttribute("data-after"));
  expect(before).toBeGreaterThan(0);
  expect(after).not.toBe(before);
  await expect(panel.getByTestId("match-row")).toHaveCount(2);
  await page.screenshot({ path: "test-results/enhance-train-tab.png", fullPage: true });

  const row = panel.getByRole("row", { name: /tiny-enhanced/ });
  await expect(row).toContainText("done");
  const download = page.waitForEvent("download");
  await row.getByRole("button", { name: "Export safetensors" }).click();
  const file = parseSafetensors(new Uint8Array(readFileSync(await (await download).path())), "export");
  const pack = parseSafetensors(new Uint8Array(readFileSync(`${TINY_DIR}/patch_encoder.safetensors`)), "pack");
  expect([...file.tensors.keys()].sort()).toEqual([...pack.tensors.keys()].sort());
  expect(file.metadata?.label).toBe("tiny-enhanced");

  await page.getByRole("tab", { name: "Inspect" }).click();
  await page.getByLabel("Choose reference image").setInputFiles(`${TINY_DIR}/gallery/1f30a.png`);
  await page.getByLabel("Choose generated image").setInputFiles(`${TINY_DIR}/gallery/1f44e.png`);
  const mean = page.getByTestId("quality-mean");
  await expect(mean).toHaveText(/^-?[01]\.\d{3}$/);
  const packMean = await mean.textContent();
  const picker = page.getByLabel("Patch encoder", { exact: true });
  const option = picker.locator("option", { hasText: "tiny-enhanced (enhanced, step 6" });
  await picker.selectOption((await option.getAttribute("value")) ?? "");
  await expect(page.getByTestId("inspect-status")).toContainText(
    "tiny-enhanced, enhanced tiny patch_encoder at step 6",
  );
  await expect(mean).not.toHaveText(packMean ?? "");
  await page.screenshot({ path: "test-results/enhance-inspect.png", fullPage: true });

  // Dataset: maps from the enhanced encoder, which the dataset records with its S_patch.
  await prepareTinyDataset(page);
  await page.getByLabel("Dataset name").fill("enhanced maps");
  const datasetEncoder = page.getByLabel("Dataset patch encoder");
  await datasetEncoder.selectOption(
    (await datasetEncoder.locator("option", { hasText: "tiny-enhanced" }).getAttribute("value")) ?? "",
  );
  await page.getByRole("button", { name: "Build dataset" }).click();
  await expect(page.getByTestId("dataset-view")).toHaveAttribute("data-samples", "2", { timeout: 180_000 });
  await expect(page.getByTestId("dataset-encoder")).toHaveText(
    `Quality maps from enhanced encoder "tiny-enhanced" at step 6 (S_patch ${before.toFixed(3)} → ${after.toFixed(3)}).`,
  );
  await page.screenshot({ path: "test-results/enhance-dataset.png", fullPage: true });

  // Compare: one cell scored by the pack's encoder and by the enhanced one, from the same noise.
  const [packQuality, enhancedQuality] = await page.evaluate(async () => {
    const studio = window.patchdpo;
    if (!studio) throw new Error("window.patchdpo is missing");
    const run = (await studio.training.call((api) => api.enhanceRuns())).find((r) => r.label === "tiny-enhanced");
    if (!run) throw new Error("the enhancement run is not listed");
    const encoder = await studio.inference.call((api) => api.loadEnhancedEncoder(run.id, "wasm"));
    const cell = async (patchEncoder?: string) => {
      const sampler = { steps: 4, sampler: "ddim" as const, guidanceImage: 3, guidancePrompt: 2, ipScale: 1 };
      const request = { packId: "tiny", cell: { subject: "1f44e", prompt: {}, seed: 1 }, sampler, global: {} };
      const result = await studio.inference.call((api) =>
        api.compareCell(`compare-${patchEncoder ?? "pack"}`, {
          ...request,
          adapters: [{ id: "base", adapter: { kind: "base" } }],
          patchEncoder,
        }),
      );
      return result.records[0]?.metrics.patch_quality;
    };
    return [await cell(), await cell(encoder.id)];
  });
  expect(Number.isFinite(packQuality)).toBe(true);
  expect(Number.isFinite(enhancedQuality)).toBe(true);
  expect(enhancedQuality).not.toBe(packQuality);
  expect(errors).toEqual([]);
});

/**
 * The training worker in Chromium with the tiny pack (cached by loading it), real IndexedDB and
 * the WGSL engine on SwiftShader (or the CPU engine where WebGPU is missing): a PatchDPO run is
 * paused, the page reloaded, and the run resumes from its stored checkpoint to the end; a
 * Diffusion-DPO run trains; a run with a huge learning rate stops with the non-finite message and
 * keeps its last good checkpoint; the adapter exports as safetensors and generates in the
 * inference worker; a run whose GPU device is destroyed mid-run resumes from its last checkpoint
 * on a new device. The UI test goes the researcher's way: a dataset from the Dataset tab, PatchDPO
 * with live curves and previews, reload and resume, Diffusion-DPO, export, import and generate.
 */
import { writeFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import type { PreferenceDataset } from "../src/core/dataset/types";
import { parseSafetensors } from "../src/core/safetensors";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/core/training/loop";
import type { RunRecord } from "../workers/training-api";
import { expectLoaded, openTinyOnWasm, prepareTinyDataset, tinyManifest } from "./helpers";

test.setTimeout(600_000);

/** A 4-image dataset in the tiny pack's shapes (deterministic values; maps in [-1, 1]). */
function dataset(): PreferenceDataset {
  const wave = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + k));
  return {
    packId: "tiny",
    grid: { height: 8, width: 8 },
    references: [0, 1].map((r) => ({
      id: `r${r}`,
      latent: wave(1024, r),
      imageTokens: wave(1024, 10 + r),
      promptIds: [0, 0, 0],
    })),
    samples: [0, 1, 2, 3].map((i) => ({
      ref: i >> 1,
      prompt: {},
      promptIds: [2 + i, 15, 25],
      seed: i,
      latent: wave(1024, 20 + i),
      mGen: wave(64, 30 + i),
      mRef: wave(64, 40 + i),
    })),
  } as unknown as PreferenceDataset; // arrays become Float32Array in the page (see toPage)
}

const config = (patch: Partial<TrainConfig>): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  steps: 20,
  lr: 1e-3,
  checkpointEvery: 4,
  monitorEvery: 5,
  ...patch,
});

/**
 * Starts run `id` in the page; resolves with the record when the run pauses or ends. `pauseAt`
 * pauses after that step; `loseAt` destroys the run's GPU device after that step (test hook).
 */
function train(page: Page, id: string, c: TrainConfig, pauseAt = 0, loseAt = 0): Promise<RunRecord> {
  return page.evaluate(
    async ({ id, ds, c, pauseAt, loseAt }) => {
      const studio = window.patchdpo;
      if (!studio) throw new Error("window.patchdpo is missing");
      const f32 = (a: number[]) => Float32Array.from(a);
      let lost = false;
      const data = {
        ...ds,
        references: ds.references.map((r) => ({
          ...r,
          latent: f32(r.latent as unknown as number[]),
          imageTokens: f32(r.imageTokens as unknown as number[]),
        })),
        samples: ds.samples.map((s) => ({
          ...s,
          latent: f32(s.latent as unknown as number[]),
          mGen: f32(s.mGen as unknown as number[]),
          mRef: f32(s.mRef as unknown as number[]),
        })),
      };
      return studio.training.call((api) =>
        api.train(
          id,
          "tiny",
          data,
          c,
          studio.callback((e) => {
            if (e.kind === "step" && e.report.step === pauseAt) void studio.training.call((a) => a.pause(id));
            // Once: the resumed run passes this step again.
            if (e.kind === "step" && e.report.step === loseAt && !lost) {
              lost = true;
              void studio.training.call((a) => a.testLoseDevice(id));
            }
          }),
        ),
      );
    },
    { id, ds: dataset(), c, pauseAt, loseAt },
  );
}

test("train PatchDPO with pause, reload and resume; DPO; NaN stop; export and generate", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);

  const paused = await train(page, "e2e-patchdpo", config({}), 6);
  expect(paused.status).toBe("paused");
  expect(paused.checkpoint?.step).toBeGreaterThanOrEqual(6);
  const pausedAt = paused.checkpoint?.step ?? 0;
  expect(paused.history.every((r) => Number.isFinite(r.loss))).toBe(true);

  await page.reload();
  await expectLoaded(page, "tiny", 120_000);
  const done = await train(page, "e2e-patchdpo", config({}));
  expect(done.status).toBe("done");
  expect(done.checkpoint?.step).toBe(20);
  expect(done.history.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  expect(done.history[pausedAt].step).toBe(pausedAt + 1); // resumed where the checkpoint was

  const dpo = await train(page, "e2e-dpo", config({ loss: { ...DEFAULT_TRAIN_CONFIG.loss, method: "dpo" } }));
  expect(dpo.status).toBe("done");
  expect(dpo.history.find((r) => r.margin !== undefined)?.margin).toBeDefined();

  const nan = await train(page, "e2e-nan", config({ lr: 1e30, checkpointEvery: 1 }));
  expect(nan.status).toBe("failed");
  expect(nan.message).toMatch(/NaN or infinite.*restored the last good checkpoint \(step \d+\)/);
  const restoredFinite = await page.evaluate(async () => {
    const run = await window.patchdpo?.training.call((api) => api.run("e2e-nan"));
    const tensors = [...(run?.checkpoint?.adapter.values() ?? [])];
    return tensors.length > 0 && tensors.every((t) => t.every(Number.isFinite));
  });
  expect(restoredFinite).toBe(true);

  const bytes = await page.evaluate(async () => {
    const studio = window.patchdpo;
    if (!studio) throw new Error("window.patchdpo is missing");
    const file = await studio.training.call((api) => api.exportAdapter("e2e-patchdpo"));
    const adapter = await studio.training.call((api) => api.run("e2e-patchdpo"));
    const tensors = adapter?.checkpoint?.adapter;
    if (!tensors) throw new Error("no adapter");
    const out = await studio.inference.call((api) =>
      api.generate(
        "e2e-train-gen",
        {
          packId: "tiny",
          reference: { kind: "gallery", id: "1f004" },
          adapter: { kind: "tensors", label: "e2e-patchdpo", tensors },
          settings: {
            prompt: {},
            seed: 3,
            batch: 1,
            steps: 4,
            sampler: "ddim",
            guidanceImage: 3,
            guidancePrompt: 2,
            ipScale: 1,
          },
        },
        studio.callback(() => {}),
      ),
    );
    if (out.images.length !== 1) throw new Error("no image");
    return Array.from(new Uint8Array(file));
  });
  const parsed = parseSafetensors(new Uint8Array(bytes), "adapter.safetensors");
  const names = tinyManifest().roles.denoiser.adapter.tensors.map((t: { name: string }) => t.name);
  expect([...parsed.tensors.keys()].sort()).toEqual([...names].sort());
  expect(parsed.metadata).toMatchObject({ pack: "tiny", run: "e2e-patchdpo", step: "20" });
});

test("a lost GPU device resumes the run from its last checkpoint on a new device", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  const backend = await page.evaluate(() => {
    const studio = window.patchdpo;
    return studio?.training.call((api) =>
      api.checkEngine(
        "e2e-check",
        studio.callback(() => {}),
      ),
    );
  });
  expect(backend?.adapter.name).toBeTruthy(); // the run trains on WebGPU, so there is a device to lose
  const run = await train(page, "e2e-lost", config({ steps: 16 }), 0, 10);
  expect(run.status, run.message).toBe("done");
  expect(run.message).toMatch(/The GPU device was lost .*resumed on a new device from the checkpoint at step 8\./);
  // Steps 9 and 10 ran twice (before the loss and after the resume); the history keeps one of each.
  expect(run.history.map((r) => r.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  expect(run.checkpoint?.step).toBe(16);
});

/** ONNX on WASM: ORT's WebGPU EP on SwiftShader is far slower on the shared 2-core machines. */
test("Train tab: dataset from the Dataset tab, PatchDPO with live curves and previews, reload and resume, DPO, export, import and generate", async ({
  page,
  context,
}, info) => {
  await openTinyOnWasm(page, context);

  await prepareTinyDataset(page);
  await page.getByRole("button", { name: "Build dataset" }).click();
  await expect(page.getByTestId("dataset-view")).toHaveAttribute("data-samples", "2", { timeout: 180_000 });

  await page.getByRole("tab", { name: "Train" }).click();
  await expect(page.getByTestId("dataset-summary")).toContainText("2 generated images of 2 references");
  await page.getByLabel("Steps", { exact: true }).fill("24");
  await page.getByLabel("Checkpoint every").fill("4");
  await page.getByLabel("Preview every").fill("4");
  await page.getByRole("button", { name: "Start" }).click();
  const chart = (metric: string) => page.locator(`figure.metric-chart[data-metric="${metric}"]`);
  await expect(chart("loss")).toHaveAttribute("data-points", /^([3-9]|1\d|2[0-4])$/, { timeout: 120_000 });
  // The engine was chosen by timing one step on each (the default "auto").
  await expect(page.getByTestId("train-status")).toContainText(
    /engine (cpu|webgpu) \(auto: (CPU|WGSL) engine [\d.]+× faster than .* on one step/,
  );
  // The CPU engine trains on every core (its shard workers); the WGSL engine says how its matmul was chosen.
  await expect(page.getByTestId("train-status")).toContainText(
    new RegExp(
      `engine cpu \\(.*on ${await page.evaluate(() => Math.min(4, navigator.hardwareConcurrency))} threads?\\)|matmul: register tile`,
    ),
  );
  // Paused at once: on an idle machine the tiny pack trains a step in well under 100 ms (a run
  // that has ended meanwhile disables the button, and is shown from the saved runs below).
  await page
    .getByRole("button", { name: "Pause" })
    .click({ timeout: 5_000 })
    .catch(() => undefined);
  const status = page.getByTestId("train-status");
  await expect(status).toHaveAttribute("data-status", /paused|done/, { timeout: 120_000 });
  await expect(chart("gradient norm")).not.toHaveAttribute("data-points", "0");
  await expect(chart("weighted error")).not.toHaveAttribute("data-points", "0");

  // The run comes back from IndexedDB after a reload and resumes from its checkpoint to the end.
  await page.reload();
  await expectLoaded(page, "tiny", 120_000);
  await page.getByRole("tab", { name: "Train" }).click();
  await page.getByLabel("Preview every").fill("4");
  const row = page.getByTestId("saved-runs").locator("tbody tr").first();
  // A run that ended before the pause landed is shown from the saved runs instead.
  const stored = await row.getAttribute("data-status");
  await row.getByRole("button", { name: stored === "paused" ? "Resume" : "Curves" }).click();
  await expect(status).toHaveAttribute("data-status", "done", { timeout: 300_000 });
  await expect(chart("loss")).toHaveAttribute("data-points", "24");
  await expect(row).toContainText("24 / 24");
  if (stored === "paused") await expect(page.getByTestId("train-previews")).toBeVisible({ timeout: 120_000 });
  await page.screenshot({ path: info.outputPath("train.png"), fullPage: true });
  const runId = await row.getAttribute("data-run-id");

  await page.getByLabel("Method").selectOption("dpo");
  await page.getByLabel("Steps", { exact: true }).fill("6");
  await page.getByRole("button", { name: "Start" }).click();
  await expect(status).toHaveAttribute("data-status", "done", { timeout: 300_000 });
  await expect(chart("reward margin")).not.toHaveAttribute("data-points", "0");
  await expect(page.getByTestId("saved-runs").locator("tr[data-status=done]")).toHaveCount(2);

  const download = page.waitForEvent("download");
  await page.locator(`tr[data-run-id="${runId}"]`).getByRole("button", { name: "Export adapter" }).click();
  const adapterPath = info.outputPath("adapter.safetensors");
  await (await download).saveAs(adapterPath);

  await page.getByRole("tab", { name: "Generate" }).click();
  await expect(page.getByTestId("reference-image")).toBeVisible({ timeout: 60_000 });
  const notAdapter = info.outputPath("notes.safetensors");
  writeFileSync(notAdapter, "hello");
  await page.getByLabel("Import adapter").setInputFiles(notAdapter);
  await expect(page.getByTestId("adapter-error")).toContainText("notes.safetensors");
  await page.getByLabel("Import adapter").setInputFiles(adapterPath);
  await expect(page.getByLabel("Adapter", { exact: true })).toHaveValue(/^import:/);
  await page.getByLabel("Steps", { exact: true }).fill("4");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  const card = page.getByTestId("run-card").first();
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 120_000 });
  await expect(card).toContainText("(imported)");
});

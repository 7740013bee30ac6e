/**
 * The training worker in Chromium with the tiny pack (cached by loading it), real IndexedDB and
 * the WGSL engine on SwiftShader (or the CPU engine where WebGPU is missing): a PatchDPO run is
 * paused, the page reloaded, and the run resumes from its stored checkpoint to the end; a
 * Diffusion-DPO run trains; a run with a huge learning rate stops with the non-finite message and
 * keeps its last good checkpoint; the adapter exports as safetensors and generates in the
 * inference worker.
 */
import { expect, type Page, test } from "@playwright/test";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import type { PreferenceDataset } from "../src/core/dataset/types";
import { parseSafetensors } from "../src/core/safetensors";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/core/training/loop";
import type { RunRecord } from "../workers/training-api";
import { expectLoaded, tinyManifest } from "./helpers";

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

/** Starts run `id` in the page; resolves with the record when the run pauses or ends; `pauseAt` pauses after that step. */
function train(page: Page, id: string, c: TrainConfig, pauseAt = 0): Promise<RunRecord> {
  return page.evaluate(
    async ({ id, ds, c, pauseAt }) => {
      const studio = window.patchdpo;
      if (!studio) throw new Error("window.patchdpo is missing");
      const f32 = (a: number[]) => Float32Array.from(a);
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
          }),
        ),
      );
    },
    { id, ds: dataset(), c, pauseAt },
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
  const parsed = parseSafetensors(new Uint8Array(bytes).buffer, "adapter.safetensors");
  const names = tinyManifest().roles.denoiser.adapter.tensors.map((t: { name: string }) => t.name);
  expect([...parsed.tensors.keys()].sort()).toEqual([...names].sort());
  expect(parsed.metadata).toMatchObject({ pack: "tiny", run: "e2e-patchdpo", step: "20" });
});

test("Train tab: build a 4-image dataset, train PatchDPO with a live loss chart", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  await page.getByRole("tab", { name: "Train" }).click();
  await page.getByRole("button", { name: "Build dataset from the training subjects" }).click();
  await expect(page.getByTestId("dataset-summary")).toContainText("4 generated images of 4 references", {
    timeout: 300_000,
  });
  await page.getByLabel("Steps").fill("40");
  await page.getByRole("button", { name: "Start" }).click();
  const chart = page.locator("figure.loss-chart");
  await expect(chart).toHaveAttribute("data-points", /^([3-9]|\d\d)$/, { timeout: 120_000 });
  await page.screenshot({ path: "docs/train.png", fullPage: true });
  await expect(page.getByTestId("train-status")).toHaveAttribute("data-status", "done", { timeout: 300_000 });
  await expect(chart).toHaveAttribute("data-points", "40");
  await expect(page.getByTestId("saved-runs").locator("tr[data-status=done]")).toContainText("patchdpo");
  // The run list comes back from IndexedDB after a reload (the Train tab stays selected).
  await page.reload();
  await page.getByRole("tab", { name: "Train" }).click();
  await expect(page.getByTestId("saved-runs").locator("tr[data-status=done]")).toContainText("40 / 40", {
    timeout: 120_000,
  });
});

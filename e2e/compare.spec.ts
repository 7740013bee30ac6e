/**
 * Compare tab in Chromium with the tiny pack: a PatchDPO adapter trained in the training worker
 * (real WGSL engine on SwiftShader, runs in IndexedDB; ONNX on WASM) against the base on two held-out subjects ×
 * two seeds; the grid and the charts appear, a cell opens in Inspect, and the exported zip's
 * report.json holds every number and setting.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { strFromU8, unzipSync } from "fflate";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import type { CompareReport } from "../src/core/metrics/report";
import { DEFAULT_TRAIN_CONFIG } from "../src/core/training/loop";
import { compareWithBase, openTinyOnWasm } from "./helpers";

test.setTimeout(600_000);

/** ONNX on WASM: ORT's WebGPU EP on SwiftShader is far slower on the shared 2-core machines (training stays on WGSL). */
test("compare base and a trained tiny adapter: grid, charts, Inspect, report zip", async ({ page, context }, info) => {
  await openTinyOnWasm(page, context);

  // A PatchDPO adapter: 8 steps on a 2-sample dataset of the tiny pack's shapes.
  const config = { ...DEFAULT_TRAIN_CONFIG, steps: 8, lr: 1e-2, checkpointEvery: 4, monitorEvery: 0 };
  const status = await page.evaluate(async (c) => {
    const studio = window.patchdpo;
    if (!studio) throw new Error("window.patchdpo is missing");
    const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + k));
    const ds = {
      packId: "tiny",
      grid: { height: 8, width: 8 },
      references: [{ id: "r0", latent: wave(1024, 0), imageTokens: wave(1024, 1), promptIds: [0, 0, 0] }],
      samples: [0, 1].map((i) => ({
        ref: 0,
        prompt: {},
        promptIds: [2 + i, 15, 25],
        seed: i,
        latent: wave(1024, 20 + i),
        mGen: wave(64, 30 + i),
        mRef: wave(64, 40 + i),
      })),
    };
    const run = await studio.training.call((api) =>
      api.train(
        "e2e-compare",
        "tiny",
        ds,
        c,
        studio.callback(() => {}),
      ),
    );
    return run.status;
  }, config);
  expect(status).toBe("done");

  const summary = await compareWithBase(page, /e2e-compare/);
  const subjects = page.getByRole("group", { name: "Held-out subjects" });
  await expect(subjects.getByRole("checkbox", { checked: true })).toHaveCount(2);
  await expect(page.getByTestId("compare-row")).toHaveCount(4);
  await expect(page.getByTestId("compare-cell")).toHaveCount(8);
  await expect(page.getByTestId("interval-chart").first()).toBeVisible();
  await expect(page.getByTestId("delta-chart")).toBeVisible();
  await expect(summary).toContainText("patch quality (independent evaluator)");
  await expect(summary).toContainText("patch quality (random encoder, ablation)");
  await expect(summary).toContainText("background accuracy");

  await page.getByLabel("heatmaps").check();
  await page.getByLabel("Grid metric").selectOption("patch_quality_random");
  await page.screenshot({ path: info.outputPath("compare.png"), fullPage: true });

  // A click opens the image in Inspect, where its maps are computed.
  await page.getByTestId("compare-cell").nth(1).click();
  await expect(page.getByRole("tab", { name: "Inspect" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByTestId("heatmap")).toBeVisible({ timeout: 60_000 });
  await page.getByRole("tab", { name: "Compare" }).click();

  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export report (zip)" }).click();
  const path = await (await download).path();
  const files = unzipSync(new Uint8Array(readFileSync(path)));
  expect(Object.keys(files)).toEqual(expect.arrayContaining(["report.json", "report.md"]));
  expect(Object.keys(files).filter((f) => f.startsWith("charts/") && f.endsWith(".png")).length).toBeGreaterThan(1);
  const report = JSON.parse(strFromU8(files["report.json"])) as CompareReport;
  expect(report.schema).toBe("patchdpo-compare-report");
  expect(report.packId).toBe("tiny");
  expect(report.methods.map((m) => m.id)).toEqual(["base", "run:e2e-compare"]);
  expect(report.baseline).toBe("base");
  expect(report.records).toHaveLength(8);
  expect(report.settings).toMatchObject({ seeds: [101, 102], sampler: { steps: 4 } });
  expect(report.metrics).toEqual(
    expect.arrayContaining([
      "patch_quality",
      "patch_quality_independent",
      "global_sim_independent",
      "patch_quality_random",
      "subject_region_psnr_db",
    ]),
  );
  expect(report.settings).toMatchObject({
    evaluators: {
      patch_quality_independent: "evaluators.independent",
      global_sim_independent: "evaluators.independent",
    },
  });
  for (const m of report.methods) {
    const s = report.table[m.id].patch_quality;
    expect(Number.isFinite(s.mean)).toBe(true);
    expect(s.ci95).toHaveLength(2);
  }
  expect(report.table["run:e2e-compare"].patch_quality.delta?.perSubject).toBeDefined();
  // Same noise per cell: the base and the trained adapter differ only through the adapter.
  const base = report.records.filter((r) => r.method === "base").map((r) => `${r.subject}|${r.prompt}|${r.seed}`);
  const run = report.records.filter((r) => r.method !== "base").map((r) => `${r.subject}|${r.prompt}|${r.seed}`);
  expect(run).toEqual(base);
  expect(strFromU8(files["report.md"])).toContain("| method |");
});

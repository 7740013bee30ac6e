/**
 * Two-subject scenes in Chromium on the tiny pack, whose denoiser takes two references: choose a
 * second subject and a layout on the Generate tab, generate (both references' tokens through
 * onnxruntime-web), and open the image in Inspect with both references: each subject's heatmap and
 * the identity assignment. Then the researcher's path on two subjects: a two-subject dataset from
 * the Dataset tab, PatchDPO trained on it in the training worker (WGSL on SwiftShader), and a
 * two-subject comparison against the base with per-subject metrics and identity leakage. The
 * dataset's exported zip also trains on the foundry's PyTorch trainer, whose adapter and log the
 * Train tab imports.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { compareWithBase, exportNewestDataset, openTinyOnWasm, tinyManifest } from "./helpers";

test("generate a two-subject scene and inspect it against both references", async ({ page, context }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await openTinyOnWasm(page, context);
  await page.getByRole("tab", { name: "Generate" }).click();
  await expect(page.getByTestId("reference-image")).toBeVisible();
  const [a, b] = tinyManifest().gallery.heldout;
  await page.getByLabel("Subject", { exact: true }).selectOption(a.id);
  const position = page.getByLabel("Prompt position");
  await expect(position.locator("option", { hasText: "A left, B right" })).toHaveCount(0);
  await page.getByLabel("Second subject").selectOption(b.id);
  await expect(page.getByTestId("second-image")).toHaveAttribute("aria-label", `Second reference: ${b.name}`);
  // With two subjects the position slot offers the layouts, the first one chosen.
  await expect(position).toHaveValue("A left, B right");
  await position.selectOption("A right, B left");
  await page.getByLabel("Steps", { exact: true }).fill("4");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  const card = page.getByTestId("run-card").first();
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  await expect(card).toContainText(`${b.name} (${b.id})`);
  await expect(card).toContainText("A right, B left");
  await page.screenshot({ path: "test-results/multi-subject-generate.png", fullPage: true });

  await card.getByRole("button", { name: "Send to Inspect" }).first().click();
  await expect(page.getByTestId("slot-second")).toContainText(b.name);
  await expect(page.getByTestId("subjects-view")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("subject-heatmap")).toHaveCount(2);
  const map = page.getByTestId("assignment-map");
  const counts = await Promise.all(
    ["data-a", "data-b", "data-none"].map(async (k) => Number(await map.getAttribute(k))),
  );
  expect(counts.reduce((x, y) => x + y, 0)).toBe(64);
  await page.screenshot({ path: "test-results/multi-subject-inspect.png", fullPage: true });

  // Back to one subject: the layout leaves the position slot.
  await page.getByRole("tab", { name: "Generate" }).click();
  await page.getByLabel("Second subject").selectOption("");
  await expect(position).toHaveValue("any");
  expect(errors).toEqual([]);
});

test("a two-subject dataset, PatchDPO on it, and a two-subject comparison", async ({ page, context }, info) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await openTinyOnWasm(page, context);
  await page.getByRole("tab", { name: "Dataset" }).click();
  await expect(page.getByText("References (4)")).toBeVisible({ timeout: 60_000 });
  await page.getByLabel("Dataset name").fill("pairs");
  await page.getByLabel(/Two subjects per image/).check();
  await expect(page.getByLabel("Prompt 1 position")).toHaveValue("A left, B right");
  await page.getByLabel("Prompt 1 position").selectOption("A top, B bottom");
  await page.getByLabel("Seeds").fill("1, 2");
  await page.getByLabel("Sampler steps").fill("4");
  await expect(page.getByText("2 pairs × 1 prompts × 2 seeds = 4 images")).toBeVisible();
  await page.getByRole("button", { name: "Build dataset" }).click();
  const view = page.getByTestId("dataset-view");
  await expect(view).toHaveAttribute("data-samples", "4", { timeout: 180_000 });
  await expect(view).toContainText("two subjects per image (2 pairs)");
  await expect(view).toContainText(/m_ref B/);
  await page.screenshot({ path: info.outputPath("multi-dataset.png"), fullPage: true });

  // The exported zip on the PyTorch trainer (README "Training at scale"), one process.
  const zip = await exportNewestDataset(page, info, "pairs.zip");
  const config = info.outputPath("run.json");
  writeFileSync(config, JSON.stringify({ pack: "tiny", train: { steps: 4, lr: 1e-2, monitorEvery: 1 } }));
  const adapter = info.outputPath("torch-pairs.safetensors");
  const log = info.outputPath("log.jsonl");
  const files = ["--dataset", zip, "--config", config, "--out", adapter, "--log", log, "--threads", "1"];
  await promisify(execFile)(
    "/usr/bin/python3",
    ["-m", "foundry", "train-adapter", "--pack", resolve("public/models/tiny"), ...files],
    { cwd: "foundry" },
  );

  await page.getByRole("tab", { name: "Train" }).click();
  await page.getByLabel("Training dataset").selectOption({ label: "pairs (4 images, 4 refs, two subjects per image)" });
  await expect(page.getByTestId("dataset-summary")).toContainText("two subjects per image (2 pairs)");
  await page.getByLabel("Steps", { exact: true }).fill("6");
  await page.getByLabel("Checkpoint every").fill("3");
  await page.getByRole("button", { name: "Start" }).click();
  const status = page.getByTestId("train-status");
  await expect(status).toHaveAttribute("data-status", "done", { timeout: 300_000 });
  // The loss of the two parts as two curves: steps 1, 3, 5 on the generated image, 2, 4, 6 on the references.
  const chart = page.locator('figure.metric-chart[data-metric="loss"]');
  await expect(chart).toHaveAttribute("data-points", "3");
  await expect(chart).toContainText("reference steps");
  await page.screenshot({ path: info.outputPath("multi-train-curves.png"), fullPage: true });
  // Image-level DPO cannot take the reference as winner with two references per image.
  await page.getByLabel("Method").selectOption("dpo");
  await page.getByLabel("DPO pairing").selectOption("reference");
  await page.getByRole("button", { name: "Start" }).click();
  await expect(
    page.getByRole("region", { name: "Tasks" }).getByText(/on a two-subject dataset pair by quality/),
  ).toBeVisible({
    timeout: 60_000,
  });
  // Refused before anything was stored: the saved runs hold only the PatchDPO run.
  await expect(page.getByTestId("saved-runs").locator("tbody tr")).toHaveCount(1);
  await page.screenshot({ path: info.outputPath("multi-train.png"), fullPage: true });
  await page.getByLabel("Import adapter").setInputFiles([adapter, log]);
  await expect(page.getByTestId("imported-runs").locator("tbody tr")).toContainText("torch-cpu");
  await page.screenshot({ path: info.outputPath("multi-train-torch.png"), fullPage: true });

  const summary = await compareWithBase(page, /patchdpo, step 6/, { seeds: "101", twoSubjects: true });
  await expect(page.getByTestId("compare-row")).toHaveCount(2);
  await expect(page.getByTestId("compare-row").first()).toContainText(/A .* \+ B /);
  for (const label of ["identity leakage", "subject-region PSNR of A", "patch quality (independent evaluator) of B"])
    await expect(summary).toContainText(label);
  await page.screenshot({ path: info.outputPath("multi-compare.png"), fullPage: true });
  // A cell opens in Inspect with both references.
  await page.getByTestId("compare-cell").first().click();
  await expect(page.getByTestId("subjects-view")).toBeVisible({ timeout: 60_000 });
  expect(errors).toEqual([]);
});

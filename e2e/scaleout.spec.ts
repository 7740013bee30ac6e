/**
 * Training at scale, end to end (README "Training at scale"): a dataset built in the Dataset tab
 * and exported as a zip, trained by the foundry's PyTorch trainer under real `torchrun
 * --nproc_per_node 2` (gloo), then the adapter and its log.jsonl imported back: the Train tab
 * shows the run's curves, Generate uses the adapter and Compare puts it beside the base.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { compareWithBase, exportNewestDataset, openTinyOnWasm, prepareTinyDataset } from "./helpers";

test.setTimeout(600_000);

const run = promisify(execFile);

test("Dataset tab → torchrun → adapter and curves back in Train, Generate and Compare", async ({
  page,
  context,
}, info) => {
  await openTinyOnWasm(page, context);
  await prepareTinyDataset(page);
  await page.getByLabel("Dataset name").fill("e2e scale-out");
  await page.getByRole("button", { name: "Build dataset" }).click();
  await expect(page.getByTestId("dataset-view")).toHaveAttribute("data-samples", "2", { timeout: 180_000 });
  const zip = await exportNewestDataset(page, info, "dataset.zip");

  // What the README tells a researcher to run (--redirects/--tee: see foundry/tests/test_adapter_ddp.py).
  const config = info.outputPath("run.json");
  writeFileSync(
    config,
    JSON.stringify({ pack: "tiny", train: { steps: 20, batchSize: 2, lr: 1e-2, monitorEvery: 2 } }),
  );
  const adapter = info.outputPath("torchrun-patchdpo.safetensors");
  const log = info.outputPath("log.jsonl");
  const args = ["--nproc_per_node", "2", "--redirects", "2", "--tee", "2", "-m", "foundry", "train-adapter"];
  const files = ["--dataset", zip, "--config", config, "--out", adapter, "--log", log, "--threads", "1"];
  const { stdout } = await run("torchrun", [...args, "--pack", resolve("public/models/tiny"), ...files], {
    cwd: "foundry",
  });
  expect(JSON.parse(stdout.trim().split("\n").at(-1) as string)).toMatchObject({
    backend: "torch-cpu-ddp2",
    steps: 20,
  });
  expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(20);

  await page.getByRole("tab", { name: "Train" }).click();
  await page.getByLabel("Import adapter").setInputFiles([adapter, log]);
  const row = page.getByTestId("imported-runs").locator("tbody tr");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("torch-cpu-ddp2");
  await expect(row).toContainText("2 draw(s) per step");
  await expect(page.getByTestId("train-charts")).toBeVisible();
  await page.screenshot({ path: info.outputPath("scaleout-train.png"), fullPage: true });

  await page.getByRole("tab", { name: "Generate" }).click();
  await expect(page.getByTestId("reference-image")).toBeVisible({ timeout: 60_000 });
  await page.getByLabel("Adapter", { exact: true }).selectOption({ label: "torchrun-patchdpo (imported)" });
  await page.getByLabel("Steps", { exact: true }).fill("4");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  const card = page.getByTestId("run-card").first();
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 120_000 });
  await expect(card).toContainText("torchrun-patchdpo (imported)");
  await page.screenshot({ path: info.outputPath("scaleout-generate.png"), fullPage: true });

  const summary = await compareWithBase(page, /torchrun-patchdpo/);
  await expect(summary).toContainText("torchrun-patchdpo");
  await page.screenshot({ path: info.outputPath("scaleout-compare.png"), fullPage: true });
});

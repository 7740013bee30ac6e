/**
 * `npm run screenshot [-- --width 1920 --out DIR]`: a tour of the studio on the built-in pack, one
 * screenshot per tab into docs/ (the README's pictures): Models (screenshot.png), Generate,
 * Inspect of that image, Dataset (two subjects), Train (the committed PatchDPO adapter with its
 * log) and Compare (base vs the committed PatchDPO and DPO adapters). ONNX on WASM, the faster
 * backend on the software adapters of the build machines.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Page } from "@playwright/test";
import { Harness } from "../bench/harness";

const { values: args } = parseArgs({
  options: { width: { type: "string", default: "1280" }, out: { type: "string", default: "docs" } },
});
const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
const adapters = resolve("docs/paper-emoji64.adapters");
const width = Number(args.width);
mkdirSync(args.out, { recursive: true });
const shot = async (page: Page, name: string) => {
  const path = join(args.out, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`${path} (${packId}, ${width} px)`);
};
const done = (page: Page, testId: string, timeout = 600_000) => page.getByTestId(testId).first().waitFor({ timeout });

const harness = new Harness();
try {
  const page = await harness.freshPage();
  await page.addInitScript(() =>
    localStorage.setItem(
      "patchdpo-settings",
      JSON.stringify({ state: { tab: "models", executionProvider: "wasm", autoLoadBuiltin: true }, version: 1 }),
    ),
  );
  await page.setViewportSize({ width, height: 900 });
  await page.goto(`${await harness.studioUrl()}?pack=${packId}`);
  await page.locator(`[data-pack-id="${packId}"][data-loaded="true"]`).waitFor({ timeout: 600_000 });
  await shot(page, "screenshot.png");

  await page.getByRole("tab", { name: "Generate" }).click();
  await done(page, "reference-image");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  await page.locator('[data-testid="run-card"][data-status="done"]').waitFor({ timeout: 600_000 });
  await shot(page, "generate.png");
  await page.getByRole("button", { name: "Send to Inspect" }).first().click();
  await done(page, "heatmap");
  await shot(page, "inspect.png");

  if (packId === "emoji64") {
    await page.getByRole("tab", { name: "Train" }).click();
    await page
      .getByLabel("Import adapter")
      .setInputFiles([join(adapters, "patchdpo.safetensors"), join(adapters, "patchdpo.log.jsonl")]);
    await done(page, "train-charts");
    await shot(page, "train.png");

    await page.getByRole("tab", { name: "Compare" }).click();
    const picker = page.getByRole("group", { name: "Adapters" });
    await page.getByLabel("Import adapter").setInputFiles(join(adapters, "dpo.safetensors"));
    await picker.getByRole("button", { name: "Refresh list" }).click();
    for (const name of ["patchdpo (imported)", "dpo (imported)"]) {
      const box = picker.getByLabel(name, { exact: true });
      // The list re-renders as the import lands; a click in that moment can be undone, so check again.
      for (let tries = 0; !(await box.isChecked()) && tries < 5; tries++) await box.click().catch(() => {});
    }
    await page.getByLabel("Prompts per subject").fill("1");
    await page.getByLabel("Seeds", { exact: true }).fill("101, 102");
    await page.getByRole("button", { name: "Compare", exact: true }).click();
    await done(page, "compare-summary", 1_200_000);
    await page.getByLabel("heatmaps").check();
    await shot(page, "compare.png");
  }

  await page.getByRole("tab", { name: "Dataset" }).click();
  await page
    .getByRole("button", { name: /^Remove reference/ })
    .first()
    .waitFor({ timeout: 120_000 });
  await page.evaluate(async () => {
    // No named helpers in here: tsx would wrap them in a `__name` call the page does not have.
    for (;;) {
      const remove = document.querySelectorAll('button[aria-label^="Remove reference"]');
      if (remove.length <= 2) break;
      (remove[2] as HTMLButtonElement).click();
      await new Promise((r) => setTimeout(r, 0));
    }
  });
  await page.getByLabel("Seeds").fill("1, 2");
  await page.getByLabel("Dataset name").fill("two subjects");
  await page.getByRole("button", { name: "Build dataset" }).click();
  await page.locator('[data-testid="dataset-view"][data-samples="4"]').waitFor({ timeout: 1_200_000 });
  await shot(page, "dataset.png");
} finally {
  await harness.close();
}

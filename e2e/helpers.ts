import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { type BrowserContext, expect, type Page, type TestInfo } from "@playwright/test";

export const TINY_DIR = "public/models/tiny";

export function tinyManifest() {
  return JSON.parse(readFileSync(`${TINY_DIR}/manifest.json`, "utf8"));
}

export function builtinDefaultId(): string {
  return existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
}

export const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Opens the Models tab (a reload keeps the tab the page was on) and waits until it shows the pack as loaded. */
export async function expectLoaded(page: Page, id: string, timeout = 60_000) {
  await page.getByRole("tab", { name: "Models" }).click();
  await expect(page.locator(`[data-pack-id="${id}"]`)).toHaveAttribute("data-loaded", "true", { timeout });
}

/**
 * Keys in the studio's IndexedDB pack cache, read straight from the page's IndexedDB. Does not
 * create the database when it does not exist yet.
 */
export function cacheKeys(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const dbs = await indexedDB.databases();
    if (!dbs.some((d) => d.name === "patchdpo-packs")) return [];
    return new Promise<string[]>((resolve, reject) => {
      const open = indexedDB.open("patchdpo-packs");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains("kv")) {
          db.close();
          resolve([]);
          return;
        }
        const req = db.transaction("kv").objectStore("kv").getAllKeys();
        req.onsuccess = () => {
          db.close();
          resolve(req.result.map(String).sort());
        };
        req.onerror = () => reject(req.error);
      };
    });
  });
}

/**
 * Runs ONNX models on `provider` rather than "auto" (the Models tab's setting, persisted), for
 * pages of `context` that have no settings yet: a reload keeps what the page changed since.
 */
export async function onnxBackend(context: BrowserContext, provider: "wasm" | "webgpu") {
  const settings = JSON.stringify({
    state: { tab: "models", executionProvider: provider, autoLoadBuiltin: true },
    version: 1,
  });
  await context.addInitScript((s) => {
    if (!localStorage.getItem("patchdpo-settings")) localStorage.setItem("patchdpo-settings", s);
  }, settings);
}

/**
 * Opens the studio on the tiny pack with ONNX on WASM, the backend "auto" measures faster on
 * SwiftShader, without the measurement (the WGSL training engine still runs on WebGPU).
 */
export async function openTinyOnWasm(page: Page, context: BrowserContext) {
  await onnxBackend(context, "wasm");
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
}

/** Dataset tab set to build 2 images: two of the tiny pack's four training subjects, seed 1, 4 sampler steps. */
export async function prepareTinyDataset(page: Page) {
  await page.getByRole("tab", { name: "Dataset" }).click();
  await expect(page.getByText("References (4)")).toBeVisible({ timeout: 60_000 });
  await page
    .getByRole("button", { name: /^Remove reference/ })
    .first()
    .click();
  await page
    .getByRole("button", { name: /^Remove reference/ })
    .first()
    .click();
  await page.getByLabel("Seeds").fill("1");
  await page.getByLabel("Sampler steps").fill("4");
}

/** The Dataset tab's newest dataset exported as a zip into the test's output folder; its path. */
export async function exportNewestDataset(page: Page, info: TestInfo, name: string): Promise<string> {
  const download = page.waitForEvent("download");
  await page
    .getByTestId("dataset-list")
    .locator("tbody tr")
    .first()
    .getByRole("button", { name: "Export zip" })
    .click();
  const zip = info.outputPath(name);
  await (await download).saveAs(zip);
  return zip;
}

/**
 * On the Compare tab: `adapter` (a label pattern) beside base on the pre-selected held-out
 * subjects (or, `twoSubjects`, pairs), one prompt each, seeds 101 and 102 (or `seeds`), 4 sampler steps; waits for the summary and
 * returns it (failing on the tab's error box).
 */
export async function compareWithBase(page: Page, adapter: RegExp, o: { seeds?: string; twoSubjects?: boolean } = {}) {
  await page.getByRole("tab", { name: "Compare" }).click();
  const adapters = page.getByRole("group", { name: "Adapters" });
  await adapters.getByRole("button", { name: "Refresh list" }).click();
  await adapters.getByLabel(adapter).check();
  await expect(adapters.getByLabel(/base/)).toBeChecked();
  if (o.twoSubjects) {
    await page.getByLabel(/Two subjects per image/).check();
    await expect(
      page.getByRole("group", { name: "Held-out pairs" }).getByRole("checkbox", { checked: true }),
    ).toHaveCount(2);
  }
  await page.getByLabel("Prompts per subject").fill("1");
  await page.getByLabel("Seeds", { exact: true }).fill(o.seeds ?? "101, 102");
  await page.getByLabel("Sampler steps").fill("4");
  await page.getByRole("button", { name: "Compare", exact: true }).click();
  const summary = page.getByTestId("compare-summary");
  const failed = page.getByTestId("compare-error");
  await expect(summary.or(failed)).toBeVisible({ timeout: 300_000 });
  await expect(failed).toHaveCount(0);
  return summary;
}

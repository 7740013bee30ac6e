/** Bad inputs refused at the door in Chromium, each with the file and the problem named, losing nothing chosen before. */
import { writeFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { requireRole } from "../src/core/pack/roles";
import { exportAdapter } from "../src/core/training/adapter-file";
import { expectLoaded, openTinyOnWasm, tinyManifest } from "./helpers";

/** An adapter file for the tiny pack whose every value is `value`, except NaN at [5] of the second tensor when asked. */
function adapterFile(path: string, value: number, nan = false): string {
  const manifest = tinyManifest();
  const tensors = new Map(
    requireRole(manifest, "denoiser").adapter.tensors.map(({ name, shape }, k) => {
      const data = new Float32Array(shape.reduce((a: number, b: number) => a * b, 1)).fill(value);
      if (nan && k === 1) data[5] = Number.NaN;
      return [name, data] as const;
    }),
  );
  writeFileSync(path, new Uint8Array(exportAdapter(manifest, tensors)));
  return [...tensors.keys()][1];
}

test("an adapter holding NaN is refused on import, naming the tensor; the chosen adapter stays", async ({
  page,
}, info) => {
  const path = info.outputPath("nan-adapter.safetensors");
  const broken = adapterFile(path, 0.01, true);

  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  await page.getByRole("tab", { name: "Generate" }).click();
  const adapter = page.getByLabel("Adapter", { exact: true });
  await expect(adapter).toHaveValue("base");
  await page.getByLabel("Import adapter").setInputFiles(path);
  await expect(page.getByTestId("adapter-error")).toContainText(
    `nan-adapter.safetensors: ${broken}[5] is NaN; an adapter must hold finite numbers`,
  );
  await expect(adapter).toHaveValue("base");
});

test("a generation that fails names the adapter it ran with", async ({ page, context }, info) => {
  const path = info.outputPath("gone.safetensors");
  adapterFile(path, 0.01);
  await openTinyOnWasm(page, context);
  await page.getByRole("tab", { name: "Generate" }).click();
  await page.getByLabel("Import adapter").setInputFiles(path);
  await expect(page.getByLabel("Adapter", { exact: true })).toHaveValue(/^import:/);
  // The stored adapter disappears (as when another tab deletes it) while it is still chosen here.
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open("patchdpo-adapters");
        open.onsuccess = () => {
          const tx = open.result.transaction("imported", "readwrite");
          tx.objectStore("imported").clear();
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  await page.getByLabel("Steps", { exact: true }).fill("2");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  await expect(page.getByTestId("run-error")).toContainText('with adapter "gone (imported)": no imported adapter');
});

/** Bad inputs refused at the door in Chromium, each with the file and the problem named, losing nothing chosen before. */
import { writeFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { requireRole } from "../src/core/pack/roles";
import { exportAdapter } from "../src/core/training/adapter-file";
import { expectLoaded, tinyManifest } from "./helpers";

test("an adapter holding NaN is refused on import, naming the tensor; the chosen adapter stays", async ({
  page,
}, info) => {
  const manifest = tinyManifest();
  const tensors = new Map(
    requireRole(manifest, "denoiser").adapter.tensors.map(({ name, shape }, k) => {
      const data = new Float32Array(shape.reduce((a: number, b: number) => a * b, 1)).fill(0.01);
      if (k === 1) data[5] = Number.NaN;
      return [name, data] as const;
    }),
  );
  const path = info.outputPath("nan-adapter.safetensors");
  writeFileSync(path, new Uint8Array(exportAdapter(manifest, tensors)));
  const [, broken] = tensors.keys();

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

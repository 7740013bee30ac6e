import { readdirSync, readFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import { cacheKeys, expectLoaded, sha256, TINY_DIR, tinyManifest } from "./helpers";

const ROLES = ["vae_encoder", "vae_decoder", "image_encoder", "denoiser", "patch_encoder"];
const isOnnx = (url: string) => /\/models\/tiny\/[^/]+\.onnx$/.test(new URL(url).pathname);

const task = (page: Page) => page.locator(".task").filter({ hasText: "Loading built-in pack tiny" }).last();

test("a pack loads with visible progress and lists its roles and I/O", async ({ page, context }) => {
  // Hold back the last file a moment so the running task can be seen.
  await context.route("**/models/tiny/patch_encoder.onnx", async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.goto("/?pack=tiny");
  await expect(task(page)).toHaveAttribute("data-status", "running");
  const bar = task(page).getByRole("progressbar");
  await expect(bar).toBeVisible();
  await expect.poll(async () => Number(await bar.getAttribute("value"))).toBeGreaterThan(0);
  await expect(task(page)).toHaveAttribute("data-status", "done");
  await expect(bar).toHaveAttribute("value", "1");
  await expectLoaded(page, "tiny");
  const card = page.locator('[data-pack-id="tiny"]');
  for (const role of ROLES) await expect(card.locator(`tr[data-role="${role}"]`)).toBeVisible();
  await expect(card.locator('tr[data-role="denoiser"]')).toContainText("prompt_ids: int64[batch, 3]");
  await expect(card.getByTestId("cached-size")).toHaveText(/KB|MB/);
});

test("a reload takes the pack from IndexedDB without fetching any ONNX file", async ({ page, context }) => {
  const onnxRequests: string[] = [];
  context.on("request", (r) => {
    if (isOnnx(r.url())) onnxRequests.push(r.url());
  });
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  // Positive control: the first load did fetch every model (so this listener sees worker requests).
  expect(onnxRequests).toHaveLength(ROLES.length);
  expect((await cacheKeys(page)).filter((k) => k.startsWith("pack:"))).toEqual(["pack:tiny"]);

  onnxRequests.length = 0;
  await page.reload();
  await expectLoaded(page, "tiny");
  await expect(page.locator('[data-pack-id="tiny"]')).toHaveAttribute("data-from-cache", "true");
  expect(onnxRequests).toEqual([]);

  await page.getByRole("button", { name: "Delete from cache" }).click();
  await expect(page.locator('[data-pack-id="tiny"]').getByTestId("cached-size")).toHaveText("not cached");
  expect(await cacheKeys(page)).toEqual([]);
});

test("a download that does not match the manifest names the file and role", async ({ page, context }) => {
  await context.route("**/models/tiny/denoiser.onnx", (route) =>
    route.fulfill({ body: Buffer.alloc(tinyManifest().roles.denoiser.bytes, 7) }),
  );
  await page.goto("/?pack=tiny");
  await expect(page.getByTestId("pack-error")).toContainText(
    "denoiser.onnx (role denoiser): sha256 does not match the manifest",
  );
  expect(await cacheKeys(page)).toEqual([]);
});

test("a corrupt ONNX file with a matching manifest fails with the role and file named", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  const manifest = tinyManifest();
  manifest.id = "corrupt";
  const garbage = Buffer.from("this is not an ONNX model ".repeat(100));
  Object.assign(manifest.roles.image_encoder, { bytes: garbage.length, sha256: sha256(garbage) });
  const files = readdirSync(TINY_DIR)
    .filter((f) => f.endsWith(".onnx") || f.endsWith(".safetensors"))
    .map((name) => ({
      name,
      mimeType: "application/octet-stream",
      buffer: name === "image_encoder.onnx" ? garbage : readFileSync(`${TINY_DIR}/${name}`),
    }));
  files.push({ name: "manifest.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(manifest)) });
  await page.getByTestId("pack-files-input").setInputFiles(files);
  await expect(page.getByTestId("pack-error")).toContainText(
    "role image_encoder: image_encoder.onnx: is not an ONNX model, or the file is truncated",
  );
  expect((await cacheKeys(page)).filter((k) => k.startsWith("pack:"))).toEqual(["pack:tiny"]);
});

test("a manifest with a missing field is refused with file and field path", async ({ page, context }) => {
  const manifest = tinyManifest();
  delete manifest.roles.denoiser.outputs;
  await context.route("**/models/tiny/manifest.json", (route) => route.fulfill({ json: manifest }));
  await page.goto("/?pack=tiny");
  await expect(page.getByTestId("pack-error")).toContainText(
    "manifest.json: roles.denoiser.outputs: missing required field",
  );
  await expect(task(page)).toHaveAttribute("data-status", "error");
});

test("cancelling a load leaves no half-written cache entry", async ({ page, context }) => {
  let stalled = false;
  // The last file never arrives, so the load is caught mid-way.
  await context.route("**/models/tiny/patch_encoder.onnx", () => {
    stalled = true;
  });
  await page.goto("/?pack=tiny");
  await expect.poll(() => stalled).toBe(true);
  await task(page).getByRole("button", { name: "Cancel" }).click();
  await expect(task(page)).toHaveAttribute("data-status", "cancelled");
  expect(await cacheKeys(page)).toEqual([]);
  await expect(page.getByText("No pack loaded or cached yet.")).toBeVisible();

  await context.unrouteAll({ behavior: "ignoreErrors" });
  await page.getByRole("button", { name: "Load tiny" }).click();
  await expectLoaded(page, "tiny");
});

test("a pack folder chosen with the folder picker loads and is cached", async ({ page }) => {
  await page.goto("/?pack=none");
  await page.getByLabel("Load the built-in pack on start").uncheck();
  await page.reload();
  await page.getByTestId("pack-folder-input").setInputFiles(TINY_DIR);
  await expectLoaded(page, "tiny");
  await expect(page.locator('[data-pack-id="tiny"]')).toContainText("from folder tiny");
});

test("running out of storage quota gives a clear message and caches nothing", async ({ page, context }) => {
  await page.goto("/?pack=none");
  await page.getByLabel("Load the built-in pack on start").uncheck();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", {
    origin: new URL(page.url()).origin,
    quotaSize: 64 * 1024,
  });
  await page.getByRole("button", { name: "Load tiny" }).click();
  await expectLoaded(page, "tiny");
  await expect(page.getByText(/Not enough browser storage to cache pack "tiny"/).first()).toBeVisible();
  expect(await cacheKeys(page)).toEqual([]);
});

test("every role of a loaded pack runs in the inference worker", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  await page.getByRole("button", { name: "Run each model once" }).click();
  const runs = page.getByRole("list", { name: "Model runs" });
  for (const role of ROLES) await expect(runs.locator(`li[data-role="${role}"]`)).toHaveAttribute("data-ok", "true");
  await expect(runs.locator('li[data-role="denoiser"]')).toContainText("eps [1, 4, 16, 16]");
  await expect(runs.locator('li[data-role="patch_encoder"]')).toContainText("features [1, 8, 8, 8]");
});

test("a manifest promising tensors no browser can hold is refused before anything is cached", async ({
  page,
  context,
}) => {
  const manifest = tinyManifest();
  manifest.roles.denoiser.adapter.tensors[0].shape = [65536, 65536];
  await context.route("**/models/tiny/manifest.json", (route) => route.fulfill({ json: manifest }));
  await page.goto("/?pack=tiny");
  await expect(page.getByTestId("pack-error")).toContainText(
    "roles.denoiser.adapter.tensors[0].shape: [65536, 65536] takes 16.0 GiB per item; one tensor must fit in 2 GiB",
  );
  expect(await cacheKeys(page)).toEqual([]);
});

test("two chosen files of the same name are refused by name, and what is loaded stays", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  const file = (name: string) => ({
    name,
    mimeType: "application/octet-stream",
    buffer: readFileSync(`${TINY_DIR}/${name}`),
  });
  await page
    .getByTestId("pack-files-input")
    .setInputFiles([file("manifest.json"), file("denoiser.onnx"), file("denoiser.onnx")]);
  await expect(page.getByTestId("pack-files-error")).toContainText(
    'two selected files are both "denoiser.onnx": choose one of them and load again',
  );
  await expectLoaded(page, "tiny");
});

test("a second load of a pack while the first runs joins it: one task, one download", async ({ page, context }) => {
  let fetches = 0;
  await context.route("**/models/tiny/denoiser.onnx", async (route) => {
    fetches++;
    await new Promise((r) => setTimeout(r, 1000));
    await route.continue();
  });
  await page.goto("/?pack=none");
  await page.getByLabel("Load the built-in pack on start").uncheck();
  const load = page.getByRole("button", { name: "Load tiny" });
  await load.click();
  await load.click();
  await expectLoaded(page, "tiny");
  await expect(page.locator(".task").filter({ hasText: "Loading built-in pack tiny" })).toHaveCount(1);
  expect(fetches).toBe(1);
});

test("the Models tab shows the origin's storage use against its quota", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  const usage = page.getByTestId("storage-usage");
  await expect(usage).toContainText(/Browser storage: [\d.]+ (KB|MB|GB) of [\d.]+ (MB|GB|TB) used/);
  await expect(usage).toHaveAttribute("data-persisted", /true|false/);
});

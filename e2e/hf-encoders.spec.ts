/**
 * A Hugging Face / transformers.js model folder as the studio's encoder, in Chromium on the tiny
 * pack (ONNX on WASM): the foundry's DINOv2-with-registers replica (tests/fixtures/hf/, external
 * data, fp16 and int8 exports) registered on the Models tab through the folder picker
 * (`setInputFiles` with a directory on the webkitdirectory input), then, without typing anything,
 * chosen as Inspect's patch encoder (its maps equal those computed here from PyTorch's features) and
 * as Compare's DINO-style evaluator; after a reload it is still registered and still chosen.
 */
import { readFileSync } from "node:fs";
import { expect, type Page, test } from "@playwright/test";
import { strFromU8, unzipSync } from "fflate";
import type { CompareReport } from "../src/core/metrics/report";
import { patchQualityCpu } from "../src/core/quality/cpu";
import { type EncoderSpec, patchFeatures } from "../src/core/quality/encoder-spec";
import { patchQualityMaps } from "../src/core/quality/maps";
import { parseSafetensors, serializeSafetensors, type Tensor } from "../src/core/safetensors";
import { expectLoaded, onnxBackend, openTinyOnWasm, TINY_DIR, tinyManifest } from "./helpers";

test.setTimeout(600_000);

const FOLDER = "tests/fixtures/hf/dinov2-registers";
const reference = JSON.parse(readFileSync(`${FOLDER}/reference.json`, "utf8")) as { images: string[] };
const [REFERENCE, GENERATED] = reference.images;

/**
 * The maps Inspect must show: PyTorch's last_hidden_state of both images through the CPU reference
 * (`prefix` "model_fp16/" or "model_quantized/": the references of those exports' weights).
 */
function expectedMaps(prefix = "") {
  const t = parseSafetensors(readFileSync(`${FOLDER}/reference.safetensors`)).tensors;
  const spec = { grid: [8, 8], dim: 48, skip_tokens: 5, output_layout: "BTD", output: "last_hidden_state" };
  const rows = (i: number) => {
    const x = t.get(`${prefix}last_hidden_state/${i}`) as Tensor;
    return patchFeatures(x.data as Float32Array, x.shape, spec as EncoderSpec);
  };
  const result = patchQualityCpu(rows(1), rows(0), { batch: 1, genPatches: 64, refPatches: 64, dim: 48 });
  const grid = { height: 8, width: 8 };
  return patchQualityMaps(result, 0, grid, grid);
}

/** The tiny pack's base adapter scaled by 1.5: a second adapter for Compare without training one. */
function scaledAdapter(): Buffer {
  const m = tinyManifest();
  const weights = parseSafetensors(readFileSync(`${TINY_DIR}/${m.roles.denoiser.weights.file}`)).tensors;
  const out = new Map<string, Tensor>();
  for (const { name, shape } of m.roles.denoiser.adapter.tensors as { name: string; shape: number[] }[]) {
    const base = (weights.get(name) as Tensor).data as Float32Array;
    out.set(name, { dtype: "F32", shape, data: base.map((v) => v * 1.5) });
  }
  return Buffer.from(serializeSafetensors(out, { pack: "tiny" }));
}

async function download(page: Page, button: string): Promise<Buffer> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button }).click()]);
  return readFileSync(await file.path());
}

test("a transformers.js DINOv2-with-registers folder: register, Inspect, Compare's DINO slot, reload", async ({
  page,
  context,
}, info) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await openTinyOnWasm(page, context);

  // Models tab: the folder picker with the whole folder.
  await page.getByTestId("encoder-folder-input").setInputFiles(FOLDER);
  const card = page.locator('[data-encoder-id="dinov2-registers"]');
  await expect(card).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId("hf-encoder-error")).toHaveCount(0);
  await expect(card).toHaveAttribute("data-model-type", "dinov2_with_registers");
  const spec = card.getByTestId("encoder-spec");
  await expect(spec).toContainText("8 × 8 of dim 48, from last_hidden_state after 5 tokens (CLS + registers)");
  await expect(spec).toContainText("resize shortest edge → 128 (bicubic) → center crop 112×112");
  await expect(spec).toContainText("last_hidden_state: float32[batch_size, 69, 48]");
  await expect(spec).toContainText("onnx/model.onnx (fp32 + onnx/model.onnx_data)");
  // On WASM the int8 export is the backend's choice.
  await expect(card.getByTestId("encoder-status")).toHaveText("Open: onnx/model_quantized.onnx on WASM");
  // PyTorch's float32 references: run the float32 export (its weights are external data).
  await card.getByLabel("ONNX export of dinov2-registers").selectOption("onnx/model.onnx");
  await page.screenshot({ path: info.outputPath("hf-encoder-models.png"), fullPage: true });

  // Inspect: two images, the registered encoder chosen from the list.
  await page.getByRole("tab", { name: "Inspect" }).click();
  await page.getByLabel("Choose reference image").setInputFiles(REFERENCE);
  await page.getByLabel("Choose generated image").setInputFiles(GENERATED);
  await page.getByLabel("Patch encoder").selectOption("dinov2-registers");
  await expect(page.getByTestId("inspect-status")).toContainText("Encoder: dinov2-registers (onnx/model.onnx).");
  await expect(page.getByTestId("quality-backend")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("registered-encoder")).toHaveText(
    "onnx/model.onnx on WASM; grid 8×8, skipping 5 tokens",
  );
  const painted = await page.getByTestId("heatmap").evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(painted).toEqual([8, 8]);
  const maps = JSON.parse((await download(page, "Export maps JSON")).toString());
  expect(maps.encoder).toBe("dinov2-registers (onnx/model.onnx)");
  const want = expectedMaps();
  for (const [key, values] of [
    ["gen", want.gen],
    ["ref", want.ref],
  ] as const) {
    expect(maps[key]).toHaveLength(64);
    const worst = Math.max(...maps[key].map((v: number, i: number) => Math.abs(v - values[i])));
    expect(worst, key).toBeLessThan(1e-4);
  }
  expect(maps.gen_match).toEqual(Array.from(want.genMatch));
  // Pin patch (2, 5): its best reference match stays drawn for the screenshot.
  const box = await page.getByTestId("heatmap-panel").boundingBox();
  if (!box) throw new Error("no heatmap panel");
  await page.mouse.click(box.x + (5.5 * box.width) / 8, box.y + (2.5 * box.height) / 8);
  await page.mouse.move(0, 0);
  await expect(page.getByTestId("match")).toHaveAttribute("data-patch", String(2 * 8 + 5));
  expect(Number(await page.getByTestId("match").getAttribute("data-value"))).toBeCloseTo(want.gen[2 * 8 + 5], 4);
  await expect(page.getByTestId("seen-note")).toContainText("center crop to 112×112 pixels");
  await page.screenshot({ path: info.outputPath("hf-encoder-inspect.png"), fullPage: true });

  // Compare: base against a second adapter, the registered encoder in the DINO-style slot.
  await page.getByRole("tab", { name: "Compare" }).click();
  const adapters = page.getByRole("group", { name: "Adapters" });
  await adapters.getByLabel("Import adapter").setInputFiles({
    name: "scaled.safetensors",
    mimeType: "application/octet-stream",
    buffer: scaledAdapter(),
  });
  await expect(adapters.getByRole("checkbox", { checked: true })).toHaveCount(2);
  const subjects = page.getByRole("group", { name: "Held-out subjects" });
  await subjects.getByRole("button", { name: "none" }).click();
  await subjects.getByRole("checkbox").first().check();
  await page.getByLabel("Prompts per subject").fill("1");
  await page.getByLabel("Seeds", { exact: true }).fill("101");
  await page.getByLabel("Sampler steps").fill("2");
  await page.getByLabel("dino registered encoder").selectOption("dinov2-registers");
  await expect(page.getByTestId("evaluator-dino-file")).toHaveText("dinov2-registers: onnx/model.onnx");
  await page.getByRole("button", { name: "Compare", exact: true }).click();
  const summary = page.getByTestId("compare-summary");
  const failed = page.getByTestId("compare-error");
  await expect(summary.or(failed)).toBeVisible({ timeout: 300_000 });
  await expect(failed).toHaveCount(0);
  await expect(summary).toContainText("DINO-style similarity");
  const zip = unzipSync(new Uint8Array(await download(page, "Export report (zip)")));
  const report = JSON.parse(strFromU8(zip["report.json"])) as CompareReport;
  expect(report.metrics).toContain("dino");
  for (const m of report.methods) expect(Number.isFinite(report.table[m.id].dino.mean)).toBe(true);
  expect(report.settings).toMatchObject({
    evaluators: { dino: { registered: { id: "dinov2-registers", file: "onnx/model.onnx" }, skip_tokens: 5 } },
  });

  // Reload: still registered, still chosen in Inspect and in Compare, the export choice kept.
  await page.reload();
  // The tab persists too: the page reopens on Compare.
  await expect(page.getByRole("tab", { name: "Compare" })).toHaveAttribute("aria-selected", "true");
  await page.getByRole("tab", { name: "Models" }).click();
  await expectLoaded(page, "tiny", 120_000);
  await expect(card).toBeVisible();
  await expect(card.getByLabel("ONNX export of dinov2-registers")).toHaveValue("onnx/model.onnx");
  await page.getByRole("tab", { name: "Inspect" }).click();
  await expect(page.getByLabel("Patch encoder")).toHaveValue("dinov2-registers");
  await expect(page.getByTestId("inspect-status")).toContainText("Encoder: dinov2-registers (onnx/model.onnx).");
  await page.getByRole("tab", { name: "Compare" }).click();
  await expect(page.getByLabel("dino registered encoder")).toHaveValue("dinov2-registers");
  await expect(page.getByTestId("evaluator-dino-file")).toHaveText("dinov2-registers: onnx/model.onnx");
  expect(errors).toEqual([]);
});

test("a folder without preprocessor_config.json is refused, naming the file", async ({ page, context }) => {
  await openTinyOnWasm(page, context);
  const files = ["config.json", "onnx/model_quantized.onnx"].map((f) => ({
    name: f.split("/").at(-1) as string,
    mimeType: "application/octet-stream",
    buffer: readFileSync(`${FOLDER}/${f}`),
  }));
  // A synthetic drop of a folder: DataTransfer items whose entries are the folder's files.
  const dataTransfer = await page.evaluateHandle(
    (list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
      return dt;
    },
    files.map((f) => ({ name: f.name, bytes: [...f.buffer] })),
  );
  await page.getByTestId("encoder-dropzone").dispatchEvent("drop", { dataTransfer });
  await expect(page.getByTestId("hf-encoder-error")).toContainText(
    "preprocessor_config.json: missing; the folder needs the image processor's settings beside config.json",
  );
});

test("a folder URL registers the backend's export: CLIP's vision tower with its image_embeds", async ({
  page,
  context,
}) => {
  // A cross-origin static host for tests/fixtures/hf (CORS and CORP, as the cross-origin-isolated page needs).
  const fetched: string[] = [];
  await context.route("https://hf.test/**", async (route) => {
    const path = new URL(route.request().url()).pathname.replace(/^\/models\//, "tests/fixtures/hf/");
    fetched.push(path);
    const headers = { "access-control-allow-origin": "*", "cross-origin-resource-policy": "cross-origin" };
    try {
      await route.fulfill({ status: 200, headers, body: readFileSync(path) });
    } catch {
      await route.fulfill({ status: 404, headers, body: "not found" });
    }
  });
  await openTinyOnWasm(page, context);
  await page.getByLabel("Encoder folder URL").fill("https://hf.test/models/clip/config.json");
  await page.getByRole("button", { name: "Register URL" }).click();
  const card = page.locator('[data-encoder-id="clip"]');
  await expect(card).toBeVisible({ timeout: 120_000 });
  await expect(card).toHaveAttribute("data-model-type", "clip");
  await expect(card.getByTestId("encoder-status")).toHaveText("Open: onnx/vision_model.onnx on WASM");
  await expect(card.getByTestId("encoder-spec")).toContainText("4 × 4 of dim 32, from last_hidden_state after 1 token");
  await expect(card.getByTestId("encoder-spec")).toContainText("CLIP-I: image_embeds");
  await expect(card).toContainText("from https://hf.test/models/clip/");
  expect(fetched).toContain("tests/fixtures/hf/clip/onnx/vision_model_quantized.onnx");
  await card.getByRole("button", { name: "Delete encoder" }).click();
  await expect(card).toHaveCount(0);
});

test("on WebGPU the registered folder runs the backend's export and matches its PyTorch reference", async ({
  page,
  context,
}) => {
  await onnxBackend(context, "webgpu");
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  await page.getByTestId("encoder-folder-input").setInputFiles(FOLDER);
  const card = page.locator('[data-encoder-id="dinov2-registers"]');
  const status = card.getByTestId("encoder-status");
  // fp16 with shader-f16, fp32 otherwise (then with its external data).
  await expect(status).toHaveText(/^Open: onnx\/model(_fp16)?\.onnx on WebGPU$/, { timeout: 120_000 });
  const file = ((await status.textContent()) ?? "").match(/onnx\/\S+\.onnx/)?.[0] as string;
  test.info().annotations.push({ type: "export", description: file });
  await page.getByRole("tab", { name: "Inspect" }).click();
  await page.getByLabel("Choose reference image").setInputFiles(REFERENCE);
  await page.getByLabel("Choose generated image").setInputFiles(GENERATED);
  await page.getByLabel("Patch encoder").selectOption("dinov2-registers");
  await expect(page.getByTestId("inspect-status")).toContainText(`Encoder: dinov2-registers (${file}).`);
  await expect(page.getByTestId("quality-backend")).toBeVisible({ timeout: 60_000 });
  const maps = JSON.parse((await download(page, "Export maps JSON")).toString());
  const want = expectedMaps(file.includes("fp16") ? "model_fp16/" : "");
  for (const [key, values] of [
    ["gen", want.gen],
    ["ref", want.ref],
  ] as const) {
    const worst = Math.max(...maps[key].map((v: number, i: number) => Math.abs(v - values[i])));
    expect(worst, `${file} ${key}`).toBeLessThan(1e-4);
  }
});

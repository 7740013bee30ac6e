import { readFileSync } from "node:fs";
import { expect, type Locator, type Page, test } from "@playwright/test";
import { expectLoaded, onnxBackend, TINY_DIR } from "./helpers";

const REFERENCE = `${TINY_DIR}/gallery/1f30a.png`;
const GENERATED = `${TINY_DIR}/gallery/1f44e.png`;

async function openPair(page: Page) {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  await page.getByRole("tab", { name: "Inspect" }).click();
  await page.getByLabel("Choose reference image").setInputFiles(REFERENCE);
  await page.getByLabel("Choose generated image").setInputFiles(GENERATED);
  await expect(page.getByTestId("quality-backend")).toBeVisible();
}

/** Moves the pointer to the centre of patch (row, col) of the 8×8 grid on the heatmap panel. */
async function hoverPatch(page: Page, row: number, col: number) {
  const box = await page.getByTestId("heatmap-panel").boundingBox();
  if (!box) throw new Error("no heatmap panel");
  await page.mouse.move(box.x + ((col + 0.5) * box.width) / 8, box.y + ((row + 0.5) * box.height) / 8);
}

test("Inspect: heatmap of two images, hover shows the best match and its similarity", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await openPair(page);
  // The worker has WebGPU (SwiftShader), so the WGSL kernel computes the maps.
  await expect(page.getByTestId("quality-backend")).toHaveAttribute("data-backend", "webgpu");
  await expect(page.getByTestId("heatmap")).toBeVisible();
  // The heatmap canvas holds one coloured pixel per patch.
  const painted = await page.getByTestId("heatmap").evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    return { size: [c.width, c.height], opaque: d.filter((_, i) => i % 4 === 3 && d[i] === 255).length };
  });
  expect(painted).toEqual({ size: [8, 8], opaque: 64 });
  await expect(page.getByTestId("quality-mean")).toHaveText(/^-?[01]\.\d{3}$/);

  await hoverPatch(page, 2, 3);
  const match = page.getByTestId("match");
  await expect(match).toHaveAttribute("data-patch", String(2 * 8 + 3));
  const first = await match.getAttribute("data-value");
  expect(Number(first)).toBeGreaterThanOrEqual(-1);
  expect(Number(first)).toBeLessThanOrEqual(1);
  await expect(match.locator("line")).toHaveCount(1);
  await expect(match.locator("text")).toHaveText(Number(first).toFixed(3));

  // A different patch: the highlight follows, and the value is that patch's own quality.
  await hoverPatch(page, 6, 1);
  await expect(match).toHaveAttribute("data-patch", String(6 * 8 + 1));
  const second = await match.getAttribute("data-value");
  const hovers = await page.evaluate(() => performance.getEntriesByName("inspect-hover").length);
  expect(hovers).toBeGreaterThanOrEqual(2);
  expect(second).not.toBe(first);

  // Click pins the patch; leaving the panel keeps the pinned highlight.
  const panel = await page.getByTestId("heatmap-panel").boundingBox();
  if (!panel) throw new Error("no heatmap panel");
  await page.mouse.click(panel.x + 5, panel.y + 5);
  await page.mouse.move(0, 0);
  await expect(match).toHaveAttribute("data-patch", "0");

  // Reverse view: the heatmap moves to the reference image.
  await page.getByLabel("Reverse view").check();
  await expect(page.getByText("Reference coverage")).toBeVisible();
  expect(errors).toEqual([]);
});

test("Inspect: an image sent from the Generate tab opens with its reference", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  await page.getByRole("tab", { name: "Generate" }).click();
  await page.getByLabel("Steps", { exact: true }).fill("3");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  const card = page.getByTestId("run-card").first();
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  await card.getByRole("button", { name: "Send to Inspect" }).first().click();
  await expect(page.getByRole("tab", { name: "Inspect" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByTestId("slot-generated")).toContainText("seed");
  await expect(page.getByTestId("quality-backend")).toBeVisible();
  await hoverPatch(page, 4, 4);
  await expect(page.getByTestId("match")).toHaveAttribute("data-patch", String(4 * 8 + 4));
  // An upload replaces the sent image, and survives leaving and re-opening the tab.
  await page.getByLabel("Choose generated image").setInputFiles(GENERATED);
  await page.getByRole("tab", { name: "Models" }).click();
  await page.getByRole("tab", { name: "Inspect" }).click();
  await expect(page.getByTestId("slot-generated")).toContainText("1f44e.png");
});

async function download(page: Page, button: string): Promise<Buffer> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button }).click()]);
  return readFileSync(await file.path());
}

test("Inspect: the encoder's WebGPU output feeds the kernel in place and agrees with the WASM path", async ({
  page,
  context,
}) => {
  await onnxBackend(context, "webgpu");
  await openPair(page);
  await expect(page.getByTestId("quality-backend")).toHaveAttribute("data-features", "gpu-buffer");
  const onGpu = JSON.parse((await download(page, "Export maps JSON")).toString());
  expect(onGpu.gen).toHaveLength(64);
  expect(onGpu.backend).toBe("webgpu");
  const png = await download(page, "Export heatmap PNG");
  expect(png.subarray(1, 4).toString()).toBe("PNG");

  await page.getByRole("tab", { name: "Models" }).click();
  await page.getByLabel("Run ONNX models on").selectOption("wasm");
  await openPair(page);
  await expect(page.getByTestId("quality-backend")).toHaveAttribute("data-features", "cpu");
  const onCpu = JSON.parse((await download(page, "Export maps JSON")).toString());
  for (const key of ["gen", "ref"]) {
    const worst = Math.max(...onGpu[key].map((v: number, i: number) => Math.abs(v - onCpu[key][i])));
    expect(worst).toBeLessThan(1e-4);
  }
});

/** Loads e2e/fixtures/tokens_encoder.onnx (CLS + 8×8 patch tokens of dim 64) as the user encoder. */
/**
 * Chooses the user encoder's ONNX file and waits for the form to prefill its description from
 * the model: text filled in before that can be hit by the prefill mid-fill (two JSONs in one, seen
 * on a loaded CI machine).
 */
async function chooseEncoderFile(page: Page, file: Parameters<Locator["setInputFiles"]>[0]) {
  await page.getByLabel("Encoder ONNX file").setInputFiles(file);
  await expect(page.getByTestId("encoder-hint")).toContainText("From the model");
}

async function loadTokensEncoder(page: Page) {
  await page.locator(".inspect-encoder summary").click();
  await chooseEncoderFile(page, "e2e/fixtures/tokens_encoder.onnx");
  const spec = {
    file: "tokens_encoder.onnx",
    input: "pixels",
    output: "tokens",
    image_size: 64,
    range: [0, 1],
    grid: [8, 8],
    dim: 64,
    skip_tokens: 1,
    output_layout: "BTD",
    normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  await page.getByLabel("Encoder description (JSON)").fill(JSON.stringify(spec));
  await page.getByRole("button", { name: "Load encoder" }).click();
  const status = page.getByTestId("inspect-status").filter({ hasText: "Encoder: tokens_encoder.onnx." });
  const refused = page.getByTestId("encoder-error");
  await expect(status.or(refused)).toBeVisible();
  const why = (await refused.count()) ? await refused.textContent() : "";
  await expect(refused, `the encoder was refused: ${why}`).toHaveCount(0);
  await expect(page.getByTestId("quality-backend")).toBeVisible();
}

test("Inspect: a token encoder's patch tokens (after its CLS token) feed the kernel in place on WebGPU", async ({
  page,
  context,
}) => {
  await onnxBackend(context, "webgpu");
  await openPair(page);
  await loadTokensEncoder(page);
  await expect(page.getByTestId("quality-backend")).toHaveAttribute("data-features", "gpu-buffer");
  const onGpu = JSON.parse((await download(page, "Export maps JSON")).toString());

  await page.getByRole("tab", { name: "Models" }).click();
  await page.getByLabel("Run ONNX models on").selectOption("wasm");
  await openPair(page);
  await loadTokensEncoder(page);
  await expect(page.getByTestId("quality-backend")).toHaveAttribute("data-features", "cpu");
  const onCpu = JSON.parse((await download(page, "Export maps JSON")).toString());
  expect(onGpu.encoder).toBe("tokens_encoder.onnx");
  for (const key of ["gen", "ref"]) {
    const worst = Math.max(...onGpu[key].map((v: number, i: number) => Math.abs(v - onCpu[key][i])));
    expect(worst).toBeLessThan(1e-4);
  }
  // The maps differ from the pack encoder's: the user encoder really was used.
  expect(new Set(onGpu.gen.map((v: number) => v.toFixed(3))).size).toBeGreaterThan(3);
});

test("Inspect: dropping a file that is not an image shows an error", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await page.getByRole("tab", { name: "Inspect" }).click();
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["not a picture"], "notes.txt", { type: "text/plain" }));
    return dt;
  });
  await page.getByTestId("slot-generated").dispatchEvent("drop", { dataTransfer });
  await expect(page.getByTestId("inspect-error")).toHaveText(/notes\.txt is not an image/);
  // A file that claims to be an image but is not decodable gets an error too.
  await page.getByLabel("Choose reference image").setInputFiles({
    name: "broken.png",
    mimeType: "image/png",
    buffer: Buffer.from("garbage"),
  });
  await expect(page.getByTestId("inspect-error")).toHaveText(/broken\.png is not an image this browser can decode/);
});

test("Inspect: a user-supplied encoder is validated and used", async ({ page }) => {
  await openPair(page);
  const form = page.locator(".inspect-encoder");
  await form.locator("summary").click();
  const onnx = {
    name: "patch_encoder.onnx",
    mimeType: "application/octet-stream",
    buffer: readFileSync(`${TINY_DIR}/patch_encoder.onnx`),
  };
  await chooseEncoderFile(page, onnx);
  const spec = {
    file: "patch_encoder.onnx",
    input: "image",
    output: "embeddings",
    image_size: 64,
    range: [-1, 1],
    grid: [8, 8],
    dim: 8,
    output_layout: "BHWD",
  };
  const description = page.getByLabel("Encoder description (JSON)");
  await description.fill(JSON.stringify({ ...spec, grid: [8] }));
  await page.getByRole("button", { name: "Load encoder" }).click();
  await expect(page.getByTestId("encoder-error")).toHaveText(/grid: expected \[height, width\]/);
  await description.fill(JSON.stringify(spec));
  await page.getByRole("button", { name: "Load encoder" }).click();
  await expect(page.getByTestId("encoder-error")).toHaveText(/output "embeddings" not among \[features\]/);
  // Checked against the model's real output when loaded, with the values that would fit.
  await description.fill(JSON.stringify({ ...spec, output: "features", grid: [4, 4], dim: 16 }));
  await page.getByRole("button", { name: "Load encoder" }).click();
  await expect(page.getByTestId("encoder-error")).toContainText(
    'encoder output "features" is [1, 8, 8, 8]; the spec (BHWD, grid 4×4, dim 16, skip_tokens 0) expects [1, 4, 4, 16]. It fits grid [8, 8] and dim 8',
  );
  await description.fill(JSON.stringify({ ...spec, output: "features" }));
  await page.getByRole("button", { name: "Load encoder" }).click();
  await expect(page.getByTestId("inspect-status")).toContainText("Encoder: patch_encoder.onnx.");
  await expect(page.getByTestId("quality-backend")).toBeVisible();
  await expect(page.getByTestId("heatmap")).toBeVisible();
});

test("Inspect: a second reference gives each subject's heatmap and the identity assignment", async ({ page }) => {
  await openPair(page);
  const subjects = page.getByTestId("subjects-view");
  await expect(subjects).toHaveCount(0);
  // The generated image is reference A itself: every patch matches its own copy in A (cosine 1),
  // so none is assigned to B, and the background ones (white around A) to no subject.
  await page.getByLabel("Choose generated image").setInputFiles(REFERENCE);
  await page.getByLabel("Choose second reference (subject b)").setInputFiles(GENERATED);
  await expect(subjects).toBeVisible();
  await expect(page.getByTestId("subject-heatmap")).toHaveCount(2);
  const a = page.locator('[data-testid="subject-quality"][data-subject="A"]');
  const b = page.locator('[data-testid="subject-quality"][data-subject="B"]');
  await expect(a).toHaveAttribute("data-mean", "1.0000");
  expect(Number(await b.getAttribute("data-mean"))).toBeLessThan(1);
  const map = page.getByTestId("assignment-map");
  await expect(map).toHaveAttribute("data-b", "0");
  const [onA, none] = [Number(await map.getAttribute("data-a")), Number(await map.getAttribute("data-none"))];
  expect(onA).toBeGreaterThan(0);
  expect(none).toBeGreaterThan(0);
  expect(onA + none).toBe(64);
  await page.screenshot({ path: "test-results/inspect-two-subjects.png", fullPage: true });
  await page.getByRole("button", { name: "Remove" }).click();
  await expect(subjects).toHaveCount(0);
});

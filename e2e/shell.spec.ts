import { expect, test } from "@playwright/test";
import { builtinDefaultId, expectLoaded } from "./helpers";

test("the studio loads with its tabs and reports the SwiftShader WebGPU adapter", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/?pack=tiny");
  await expect(page.getByRole("heading", { name: "PatchDPO Studio" })).toBeVisible();
  for (const tab of ["Generate", "Inspect", "Dataset", "Train", "Compare", "Models"]) {
    await expect(page.getByRole("tab", { name: tab })).toBeVisible();
  }
  await expect(page.getByTestId("compute-backend")).toHaveText(/^WebGPU: google swiftshader$/);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expectLoaded(page, "tiny");
  // "auto" on a software adapter: WASM without timing WebGPU (it would run on the CPU).
  const reason = page.getByTestId("auto-reason");
  await expect(reason).toHaveText(
    ' (auto: WASM: WebGPU adapter "google swiftshader" is software (it runs on the CPU); not timed)',
  );
  await expect(page.locator(".backend")).toHaveAttribute("data-provider", "wasm");
  await expect(page.locator('[data-pack-id="tiny"]')).toContainText("Loaded on WASM");
  // Timing both backends on request: the faster is kept, and the next load uses it and says why.
  const measured = await page.evaluate(() => window.patchdpo?.inference.call((api) => api.measureBackend("tiny")));
  expect(measured?.ms?.wasm).toBeGreaterThan(0);
  expect(measured?.ms?.webgpu).toBeGreaterThan(0);
  expect(measured?.provider).toBe((measured?.ms?.wasm ?? 0) <= (measured?.ms?.webgpu ?? 0) ? "wasm" : "webgpu");
  expect(measured?.reason).toMatch(
    /^(WASM|WebGPU): [\d.]+× faster than (WebGPU|WASM).* on one denoiser call \(\d+ vs \d+ ms, WASM vs WebGPU\)$/,
  );
  await page.reload();
  await expectLoaded(page, "tiny");
  await expect(reason).toHaveText(` (auto: ${measured?.reason})`);
  await expect(page.locator(".backend")).toHaveAttribute("data-provider", measured?.provider ?? "");
  await page.getByRole("tab", { name: "Dataset" }).click();
  await expect(page.getByRole("button", { name: "Build dataset" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("the training worker acquires a WebGPU device", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await page.getByRole("tab", { name: "Train" }).click();
  await page.getByRole("button", { name: "Check training device" }).click();
  await expect(page.getByText(/Device on google swiftshader: max buffer \d+ bytes/)).toBeVisible();
});

test("settings persist across reloads", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  await page.getByLabel("Run ONNX models on").selectOption("wasm");
  await page.getByRole("tab", { name: "Compare" }).click();
  await page.reload();
  await expect(page.getByRole("tab", { name: "Compare" })).toHaveAttribute("aria-selected", "true");
  await page.getByRole("tab", { name: "Models" }).click();
  await expect(page.getByLabel("Run ONNX models on")).toHaveValue("wasm");
  await expect(page.getByText("ONNX runtime on WASM")).toBeVisible();
  await expectLoaded(page, "tiny");
  await expect(page.locator('[data-pack-id="tiny"] .status')).toHaveText(/^Loaded on WASM/);
});

test("the studio opens the built-in pack by default", async ({ page }) => {
  test.setTimeout(300_000);
  const id = builtinDefaultId();
  await page.goto("/");
  await expectLoaded(page, id, 300_000);
  await expect(page.locator(`[data-pack-id="${id}"] tr[data-role="denoiser"]`)).toBeVisible();
});

test("a crashed inference worker is reported and restarted", async ({ page, context }) => {
  let served = 0;
  // The first copy of the worker script throws at start-up; the restarted one is the real script.
  await context.route("**/assets/inference.worker-*.js", async (route) => {
    if (served++ === 0) {
      await route.fulfill({ contentType: "text/javascript", body: 'throw new Error("simulated worker failure");' });
    } else {
      await route.continue();
    }
  });
  await page.goto("/?pack=tiny");
  await expect(page.getByText(/^The inference worker crashed \(.*\); it was restarted/).first()).toBeVisible();
  await expect(page.getByTestId("compute-backend")).toHaveText(/^WebGPU: google swiftshader$/);
  await page.getByRole("button", { name: "Load tiny" }).click();
  await expectLoaded(page, "tiny");
  expect(served).toBe(2);
});

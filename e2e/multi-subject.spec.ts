/**
 * Two-subject scenes in Chromium on the tiny pack, whose denoiser takes two references: choose a
 * second subject and a layout on the Generate tab, generate (both references' tokens through
 * onnxruntime-web), and open the image in Inspect with both references: each subject's heatmap and
 * the identity assignment.
 */
import { expect, test } from "@playwright/test";
import { openTinyOnWasm, tinyManifest } from "./helpers";

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

/** `npm run screenshot`: the Models tab with the built-in pack loaded, saved as docs/screenshot.png. */
import { existsSync } from "node:fs";
import { Harness } from "../bench/harness";

const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";
const harness = new Harness();
try {
  const page = await harness.freshPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${await harness.studioUrl()}?pack=${packId}`);
  await page.locator(`[data-pack-id="${packId}"][data-loaded="true"]`).waitFor({ timeout: 600_000 });
  await page.screenshot({ path: "docs/screenshot.png", fullPage: true });
  console.log(`docs/screenshot.png (${packId})`);
} finally {
  await harness.close();
}

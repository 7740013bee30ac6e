/**
 * `load`: the built-in pack in headless Chromium. Cold = empty IndexedDB (fetch, hash, sessions,
 * cache write); cached = the same page reloaded, so files come from IndexedDB.
 */
import { existsSync } from "node:fs";
import type { Page } from "@playwright/test";
import { type Scenario, studioEnv } from "../harness";

const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";

interface LoadTiming {
  total: number;
  phases: { files: number; sessions: number; cache_write: number };
}

async function loadTiming(page: Page, expectFromCache: boolean): Promise<LoadTiming> {
  const card = page.locator(`[data-pack-id="${packId}"][data-loaded="true"]`);
  const failed = page.getByTestId("pack-error");
  await Promise.race([
    card.waitFor({ timeout: 600_000 }),
    failed.waitFor({ timeout: 600_000 }).then(async () => {
      throw new Error(`pack ${packId} failed to load: ${await failed.textContent()}`);
    }),
  ]);
  const fromCache = (await card.getAttribute("data-from-cache")) === "true";
  if (fromCache !== expectFromCache) throw new Error(`expected fromCache=${expectFromCache}, got ${fromCache}`);
  return {
    total: Number(await card.getAttribute("data-load-ms")),
    phases: JSON.parse((await card.getAttribute("data-phase-ms")) ?? "{}"),
  };
}

export const load: Scenario = {
  description: "cold and cached load of the built-in pack in headless Chromium",
  async run(h) {
    const page = await h.freshPage();
    await page.goto(`${await h.studioUrl()}?pack=${packId}`);
    const cold = await loadTiming(page, false);
    await page.reload();
    const cached = await loadTiming(page, true);
    const env = await studioEnv(page);
    await page.context().close();
    const round = (n: number) => Math.round(n);
    return {
      metrics: {
        cold_load_ms: round(cold.total),
        cached_load_ms: round(cached.total),
        cold_files_ms: round(cold.phases.files),
        cached_files_ms: round(cached.phases.files),
        cold_sessions_ms: round(cold.phases.sessions),
        cached_sessions_ms: round(cached.phases.sessions),
        cold_cache_write_ms: round(cold.phases.cache_write),
        pack: packId,
      },
      env,
    };
  },
};

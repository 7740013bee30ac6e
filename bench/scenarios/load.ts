/**
 * `load`: the built-in pack in headless Chromium with the default settings ("auto"). Cold = empty
 * IndexedDB (fetch, hash, "auto"'s backend timing, sessions, cache write); cached = the same page
 * reloaded, so files and the backend choice come from IndexedDB. `first_image_ms`: from that
 * reload to the first generated image (25 DDIM steps, a held-out subject).
 */
import { existsSync } from "node:fs";
import type { Page } from "@playwright/test";
import type {} from "../../src/app/services/devtools"; // window.patchdpo's type
import { type Scenario, studioEnv } from "../harness";

const packId = existsSync("public/models/emoji64/manifest.json") ? "emoji64" : "tiny";

interface LoadTiming {
  total: number;
  phases: { files: number; backend: number; sessions: number; cache_write: number };
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

/** One image of the pack's first held-out subject through the inference worker (window.patchdpo). */
function firstImage(page: Page): Promise<unknown> {
  return page.evaluate(async (packId) => {
    const studio = window.patchdpo;
    if (!studio) throw new Error("window.patchdpo is missing");
    const packs = await studio.inference.call((api) => api.cachedPacks());
    const subject = packs.find((p) => p.id === packId)?.manifest.gallery?.heldout[0];
    if (!subject) throw new Error(`pack ${packId} has no held-out subject`);
    return studio.inference.call((api) =>
      api.generate(
        "bench-first-image",
        {
          packId,
          reference: { kind: "gallery", id: subject.id },
          adapter: { kind: "base" },
          settings: {
            prompt: {},
            seed: 1,
            batch: 1,
            steps: 25,
            sampler: "ddim",
            guidanceImage: 3,
            guidancePrompt: 2,
            ipScale: 1,
          },
        },
        studio.callback(() => {}),
      ),
    );
  }, packId);
}

export const load: Scenario = {
  description: "cold and cached load of the built-in pack in headless Chromium",
  async run(h) {
    const page = await h.freshPage();
    await page.goto(`${await h.studioUrl()}?pack=${packId}`);
    const cold = await loadTiming(page, false);
    const reloaded = Date.now();
    await page.reload();
    const cached = await loadTiming(page, true);
    await firstImage(page);
    const firstImageMs = Date.now() - reloaded;
    const env = await studioEnv(page);
    await page.context().close();
    const round = (n: number) => Math.round(n);
    return {
      metrics: {
        cold_load_ms: round(cold.total),
        cached_load_ms: round(cached.total),
        cold_files_ms: round(cold.phases.files),
        cached_files_ms: round(cached.phases.files),
        cold_backend_choice_ms: round(cold.phases.backend),
        cached_backend_choice_ms: round(cached.phases.backend),
        cold_sessions_ms: round(cold.phases.sessions),
        cached_sessions_ms: round(cached.phases.sessions),
        cold_cache_write_ms: round(cold.phases.cache_write),
        cached_over_cold: Number((cached.total / cold.total).toFixed(3)),
        first_image_ms: firstImageMs,
        pack: packId,
      },
      env,
    };
  },
};

/**
 * `soak`: a long training run in the studio (headless Chromium via the harness, the training
 * worker with real IndexedDB and the WGSL engine): 2,000 steps with a checkpoint every 100 on the
 * tiny pack (`--pack emoji64` for the built-in one; `--steps N`, `--every K` to change the run),
 * and the growth from the first checkpoint to the last of the page's and the worker's JS heaps, the
 * engine's live GPU buffers and the origin's storage use (e2e/soak.ts). Flat apart from the
 * checkpoints kept (`keepCheckpoints`, 2) and the run's per-step history.
 */
import { soak as measureSoak } from "../../e2e/soak";
import { type Scenario, studioEnv } from "../harness";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export const soak: Scenario = {
  description: "2,000 training steps in the browser: heap, GPU buffer and IndexedDB growth after the first checkpoint",
  async run(h) {
    const packId = flag("pack") ?? "tiny";
    const steps = Number(flag("steps") ?? 2000);
    const checkpointEvery = Number(flag("every") ?? 100);
    const page = await h.freshPage();
    try {
      await page.goto(`${await h.studioUrl()}?pack=${packId}`);
      await page.locator(`[data-pack-id="${packId}"][data-loaded="true"]`).waitFor({ timeout: 600_000 });
      const env = await studioEnv(page);
      const metrics = await measureSoak(page, { packId, steps, checkpointEvery });
      return { metrics: { ...metrics }, env };
    } finally {
      await page.context().close();
    }
  },
};

/**
 * Long browser training runs lose nothing and fail loudly (headless Chromium, real IndexedDB, the
 * training worker on the tiny pack): a worker terminated while a checkpoint write is under way
 * leaves the previous checkpoint, and after a reload the Train tab's banner resumes the run from it
 * to the end; a newest checkpoint that does not read back whole is passed over for the one before;
 * a run stored by the previous version (everything in one record) resumes and moves to the new layout;
 * two tabs cannot train one run (the second is told the first's label), and a run whose tab closed
 * is resumed from the other; a full storage quota stops the run with what to delete and keeps the
 * previous checkpoint; and a CI-sized soak (300 steps, a checkpoint every 50) grows neither heap,
 * GPU buffers nor storage beyond the bounds below.
 */
import { expect, type Page, test } from "@playwright/test";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/core/training/loop";
import type { RunRecord, TrainingEvent } from "../workers/training-api";
import { expectLoaded, openTinyOnWasm } from "./helpers";
import { soak } from "./soak";

test.setTimeout(600_000);

const config = (patch: Partial<TrainConfig>): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  steps: 12,
  lr: 1e-3,
  checkpointEvery: 4,
  keepCheckpoints: 2,
  monitorEvery: 5,
  ...patch,
});

interface Start {
  id: string;
  c: TrainConfig;
  /** Resume the stored run instead of starting it. */
  resume?: boolean;
  /** Pause after this step. */
  pauseAt?: number;
  /** Arm the test hook: the checkpoint write at this step or later is held open; the worker is then terminated. */
  killAtWrite?: number;
  /** The tab label to train under (the page's own by default). */
  tab?: boolean;
}

/**
 * Trains (or resumes) a run in the page on a 4-image dataset in the tiny pack's shapes; resolves
 * with the record, or with `{ killedAt }` once the worker was terminated mid-write. Checkpoint
 * events are counted in `window.__checkpoints`.
 */
function train(page: Page, s: Start): Promise<RunRecord & { killedAt?: number }> {
  return page.evaluate(async (s) => {
    const studio = window.patchdpo;
    if (!studio) throw new Error("window.patchdpo is missing");
    const w = window as unknown as { __checkpoints: number[] };
    w.__checkpoints = [];
    const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + k));
    const dataset = {
      packId: "tiny",
      grid: { height: 8, width: 8 },
      references: [0, 1].map((r) => ({
        id: `r${r}`,
        latent: wave(1024, r),
        imageTokens: wave(1024, 10 + r),
        promptIds: [0, 0, 0],
      })),
      samples: [0, 1, 2, 3].map((i) => ({
        ref: i >> 1,
        prompt: {},
        promptIds: [2 + i, 15, 25],
        seed: i,
        latent: wave(1024, 20 + i),
        mGen: wave(64, 30 + i),
        mRef: wave(64, 40 + i),
      })),
    };
    const tab = s.tab ? (document.querySelector("[data-testid=tab-label]")?.getAttribute("data-label") ?? "") : "";
    const onEvent = studio.callback((e: TrainingEvent) => {
      if (e.kind === "checkpoint") w.__checkpoints.push(e.step);
      if (e.kind === "step" && e.report.step === s.pauseAt) void studio.training.call((a) => a.pause(s.id));
    });
    const run = studio.training.call((api) =>
      s.resume ? api.resume(s.id, onEvent, { tab }) : api.train(s.id, "tiny", dataset, s.c, onEvent, { tab }),
    );
    if (s.killAtWrite === undefined) return run;
    run.catch(() => undefined); // rejected by the termination
    const killedAt = await studio.training.call((api) => api.testHoldCheckpointWrite(s.id, s.killAtWrite as number));
    studio.training.terminate();
    return { killedAt } as RunRecord & { killedAt: number };
  }, s);
}

const stored = (page: Page, id: string) =>
  page.evaluate((id) => window.patchdpo?.training.call((api) => api.run(id)), id);

/** The keys of the training checkpoint store, read straight from the page's IndexedDB. */
function checkpointKeys(page: Page): Promise<[string, number][]> {
  return page.evaluate(
    () =>
      new Promise<[string, number][]>((resolve, reject) => {
        const open = indexedDB.open("patchdpo-training-checkpoints");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction("checkpoints").objectStore("checkpoints").getAllKeys();
          req.onsuccess = () => {
            db.close();
            resolve(req.result as [string, number][]);
          };
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

const steps = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test("a worker terminated mid-checkpoint-write resumes from the previous checkpoint, from the interrupted-run banner", async ({
  page,
  context,
}) => {
  await openTinyOnWasm(page, context);
  // Checkpoints at 0 and 4 are stored; the one at 8 is under way when the worker is terminated.
  const killed = await train(page, { id: "e2e-crash", c: config({}), killAtWrite: 8 });
  expect(killed.killedAt).toBe(8);

  await page.reload();
  await expectLoaded(page, "tiny", 120_000);
  const before = await stored(page, "e2e-crash");
  expect(before?.status).toBe("running"); // as the worker left it; listed as interrupted since no one trains it
  expect(before?.checkpoints.map((c) => c.step)).toEqual([0, 4]);
  expect(before?.checkpoint?.step).toBe(4);
  expect(await checkpointKeys(page)).toEqual([
    ["e2e-crash", 0],
    ["e2e-crash", 4],
  ]);

  await page.getByRole("tab", { name: "Train" }).click();
  await page.getByLabel("Preview every").fill("0");
  const banner = page.locator('[data-testid="interrupted-run"][data-run-id="e2e-crash"]');
  await expect(banner).toContainText("Run e2e-crash (patchdpo) was interrupted");
  await expect(banner.getByTestId("interrupted-checkpoint")).toHaveText("step 4");
  await expect(page.locator('tr[data-run-id="e2e-crash"]')).toHaveAttribute("data-status", "interrupted");
  await banner.getByRole("button", { name: "Resume" }).click();
  const status = page.getByTestId("train-status");
  await expect(status).toHaveAttribute("data-status", "done", { timeout: 300_000 });
  await expect(banner).toHaveCount(0);

  const done = await stored(page, "e2e-crash");
  expect(done?.history.map((r) => r.step)).toEqual(steps(12));
  expect(done?.history[4].step).toBe(5); // continued after the checkpoint at step 4
  expect(done?.checkpoints.map((c) => c.step)).toEqual([8, 12]);
  expect(await checkpointKeys(page)).toEqual([
    ["e2e-crash", 8],
    ["e2e-crash", 12],
  ]);
});

test("a newest checkpoint that does not read back whole is passed over for the one before", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  const paused = await train(page, {
    id: "e2e-corrupt",
    c: config({ steps: 8, checkpointEvery: 2, keepCheckpoints: 3 }),
    pauseAt: 6,
  });
  expect(paused.status).toBe("paused");
  expect(paused.checkpoints.map((c) => c.step)).toEqual([2, 4, 6]);
  // Truncate one AdamW moment of the newest entry, as a torn or foreign write would leave it.
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open("patchdpo-training-checkpoints");
        open.onsuccess = () => {
          const store = open.result.transaction("checkpoints", "readwrite").objectStore("checkpoints");
          const get = store.get(["e2e-corrupt", 6]);
          get.onsuccess = () => {
            const cp = get.result;
            const [name, t] = [...cp.optimizer.v][0];
            cp.optimizer.v.set(name, t.subarray(1));
            store.put(cp, ["e2e-corrupt", 6]).onsuccess = () => resolve();
          };
        };
        open.onerror = () => reject(open.error);
      }),
  );
  const done = await train(page, { id: "e2e-corrupt", c: config({}), resume: true });
  expect(done.status).toBe("done");
  expect(done.message).toMatch(
    /^Passed over checkpoints that did not read back whole \(step 6: its AdamW second moment .* has \d+ values, expected \d+\); resumed from the checkpoint at step 4\.$/,
  );
  expect(done.history.map((r) => r.step)).toEqual(steps(8));
  expect(done.checkpoints.map((c) => c.step)).toEqual([4, 6, 8]);
});

test("a run stored in the first format (dataset and checkpoint inline, no keepCheckpoints) resumes and moves to the new layout", async ({
  page,
}) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  const paused = await train(page, { id: "e2e-v1-source", c: config({ steps: 8 }), pauseAt: 4 });
  expect(paused.checkpoint?.step).toBe(4);
  // The record as the previous version stored it: one entry with everything, under a new id.
  await page.evaluate(async () => {
    const run = await window.patchdpo?.training.call((api) => api.run("e2e-v1-source"));
    if (!run) throw new Error("no run");
    const { keepCheckpoints: _k, ...config } = run.config;
    const v1 = {
      id: "e2e-v1",
      packId: run.packId,
      config,
      dataset: run.dataset,
      history: run.history,
      checkpoint: run.checkpoint,
      status: "paused",
      createdAt: run.createdAt,
    };
    await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open("patchdpo-training");
      open.onsuccess = () => {
        const tx = open.result.transaction("runs", "readwrite");
        tx.objectStore("runs").put(v1, "e2e-v1");
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      };
    });
  });
  const v1 = await stored(page, "e2e-v1");
  expect(v1?.config.keepCheckpoints).toBe(2);
  expect(v1?.checkpoints.map((c) => c.step)).toEqual([4]);
  expect(v1?.checkpoint?.step).toBe(4);
  const listed = await page.evaluate(() => window.patchdpo?.training.call((api) => api.runs()));
  expect(listed?.find((r) => r.id === "e2e-v1")).not.toHaveProperty("dataset");

  const done = await train(page, { id: "e2e-v1", c: config({}), resume: true });
  expect(done.status).toBe("done");
  expect(done.history.map((r) => r.step)).toEqual(steps(8));
  expect(done.checkpoints.map((c) => c.step)).toEqual([4, 8]);
  expect((await checkpointKeys(page)).filter(([id]) => id === "e2e-v1")).toEqual([
    ["e2e-v1", 4],
    ["e2e-v1", 8],
  ]);
  // The record no longer holds the dataset or the tensors; the run still reads back whole.
  const raw = await page.evaluate(
    () =>
      new Promise<string[]>((resolve) => {
        const open = indexedDB.open("patchdpo-training");
        open.onsuccess = () => {
          const get = open.result.transaction("runs").objectStore("runs").get("e2e-v1");
          get.onsuccess = () => resolve(Object.keys(get.result).sort());
        };
      }),
  );
  expect(raw).toEqual(["checkpoints", "config", "createdAt", "history", "id", "message", "packId", "status"]);
  expect((await stored(page, "e2e-v1"))?.dataset.samples).toHaveLength(4);
});

test("two tabs cannot train one run: the second is told which tab holds it, and resumes it once that tab is closed", async ({
  page,
  context,
}) => {
  await openTinyOnWasm(page, context);
  const other = await context.newPage();
  await other.goto("/?pack=tiny");
  await expectLoaded(other, "tiny", 120_000);
  const label = (p: Page) => p.getByTestId("tab-label").getAttribute("data-label");
  const [first, second] = [await label(page), await label(other)];
  expect(first).toMatch(/^[A-Z0-9]{3}$/);
  expect(second).toMatch(/^[A-Z0-9]{3}$/);
  expect(second).not.toBe(first);
  await expect(page.getByTestId("tab-label")).toHaveText(`tab ${first}`);

  void train(page, { id: "e2e-two-tabs", c: config({ steps: 100_000, checkpointEvery: 4 }), tab: true }).catch(
    () => undefined, // the page closes mid-run
  );
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { __checkpoints?: number[] }).__checkpoints?.length ?? 0))
    .toBeGreaterThan(1);

  // The second tab lists the run as trained in the first, and is refused it, by name.
  const refusal = await other.evaluate(async () => {
    const studio = window.patchdpo;
    const tab = document.querySelector("[data-testid=tab-label]")?.getAttribute("data-label") ?? "";
    try {
      await studio?.training.call((api) =>
        api.resume(
          "e2e-two-tabs",
          studio.callback(() => {}),
          { tab },
        ),
      );
      return "trained";
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  });
  expect(refusal).toBe(
    `HeldError: Run "e2e-two-tabs" is being trained in tab ${first}: pause it there (or close that tab) first. This is tab ${second}.`,
  );
  const deleteRefusal = await other.evaluate(() =>
    window.patchdpo?.training
      .call((api) => api.deleteRun("e2e-two-tabs", "X"))
      .then(
        () => "deleted",
        (e: Error) => e.message,
      ),
  );
  expect(deleteRefusal).toContain(`is being trained in tab ${first}`);
  await other.getByRole("tab", { name: "Train" }).click();
  const row = other.locator('tr[data-run-id="e2e-two-tabs"]');
  await expect(row).toHaveAttribute("data-status", "running");
  await expect(row).toContainText(`running in tab ${first}`);
  await expect(other.getByTestId("interrupted-run")).toHaveCount(0);

  // Closing the first tab mid-run releases the run: the second tab, left as it is, shows the banner that resumes it.
  await page.close();
  const banner = other.locator('[data-testid="interrupted-run"][data-run-id="e2e-two-tabs"]');
  await expect(banner).toBeVisible();
  const resumed = train(other, { id: "e2e-two-tabs", c: config({}), resume: true, tab: true, pauseAt: 0 });
  await expect
    .poll(() => other.evaluate(() => (window as unknown as { __checkpoints?: number[] }).__checkpoints?.length ?? 0))
    .toBeGreaterThan(1);
  await expect
    .poll(async () => {
      const runs = await other.evaluate(() => window.patchdpo?.training.call((api) => api.runs()));
      return runs?.find((r) => r.id === "e2e-two-tabs")?.heldBy;
    })
    .toBe(second);
  await other.evaluate(() => window.patchdpo?.training.call((api) => api.pause("e2e-two-tabs")));
  expect((await resumed).status).toBe("paused");
});

test("a full storage quota stops the run with what to delete, keeping the previous checkpoint", async ({
  page,
  context,
}) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  const cdp = await context.newCDPSession(page);
  const origin = new URL(page.url()).origin;
  const run = train(page, { id: "e2e-quota", c: config({ steps: 100_000, checkpointEvery: 4 }) });
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { __checkpoints?: number[] }).__checkpoints?.length ?? 0))
    .toBeGreaterThan(2);
  const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: usage });
  const stopped = await run;
  expect(stopped.status).toBe("interrupted");
  const m = stopped.message?.match(
    /^Browser storage is full: the checkpoint at step (\d+) could not be saved \(QuotaExceededError\), so the run stopped; its checkpoint at step (\d+) is kept\. Delete saved runs you no longer need \(Saved runs below\), datasets \(Dataset tab\) or cached packs \(Models tab\), then resume\./,
  );
  expect(m, stopped.message).toBeTruthy();
  const [failedAt, kept] = [Number(m?.[1]), Number(m?.[2])];
  expect(failedAt).toBe(kept + 4);
  expect(stopped.checkpoint?.step).toBe(kept);
  expect(stopped.history.at(-1)?.step).toBe(kept);

  // Storage freed (the override lifted): the run resumes from the kept checkpoint.
  await cdp.send("Storage.overrideQuotaForOrigin", { origin });
  const keptStored = await stored(page, "e2e-quota");
  expect(keptStored?.checkpoint?.step).toBe(kept);
  const resumed = await train(page, { id: "e2e-quota", c: config({}), resume: true, pauseAt: kept + 2 });
  expect(resumed.status).toBe("paused");
  expect(resumed.history.map((r) => r.step)).toEqual(steps(resumed.checkpoint?.step ?? 0));
});

/** Bounds of the CI soak: the per-step history (≈ 100 bytes a step) and GC noise, far below a leak of a checkpoint per checkpoint. */
const SOAK_BOUNDS = { heapMb: 4, idbMb: 2 };

test("soak: 300 steps with a checkpoint every 50 grow neither heap, GPU buffers nor storage", async ({ page }) => {
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny", 120_000);
  const m = await soak(page, { packId: "tiny", steps: 300, checkpointEvery: 50 });
  console.log(JSON.stringify(m));
  expect(m.steps).toBe(300);
  expect(m.page_heap_growth_mb).toBeLessThan(SOAK_BOUNDS.heapMb);
  expect(m.worker_heap_growth_mb).not.toBeNull();
  expect(m.worker_heap_growth_mb ?? 0).toBeLessThan(SOAK_BOUNDS.heapMb);
  if (m.backend === "webgpu") expect(m.gpu_buffers_growth).toBe(0);
  expect(m.idb_growth_mb).toBeLessThan(SOAK_BOUNDS.idbMb);
});

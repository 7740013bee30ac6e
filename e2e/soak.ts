/**
 * A long training run in the studio's training worker (headless Chromium, real IndexedDB, the WGSL
 * engine on WebGPU), measured after its first periodic checkpoint and again at its last: growth of
 * the JS heaps of the page and of the training worker (CDP `Runtime.getHeapUsage` after a forced
 * GC; the worker through its own target), of the engine's live GPU buffers (the worker's
 * `testStats` hook) and of the origin's storage use (`navigator.storage.estimate`). Shared by
 * `npm run bench -- soak` and the CI-sized e2e test (e2e/train-recovery.spec.ts).
 */
import { readFileSync } from "node:fs";
import type { CDPSession, Page } from "@playwright/test";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/core/training/loop";

export interface SoakOptions {
  packId: string;
  /** Steps between the two measurements' checkpoints: the run is measured at `checkpointEvery` and at `steps`. */
  steps: number;
  checkpointEvery: number;
  keepCheckpoints?: number;
  runId?: string;
}

export interface SoakMetrics {
  /** The step of the last measurement. */
  steps: number;
  checkpoint_every: number;
  keep_checkpoints: number;
  /** Page + training worker (the worker's part is 0 when its target is unreachable). */
  heap_growth_mb: number;
  page_heap_growth_mb: number;
  worker_heap_growth_mb: number | null;
  gpu_buffers_growth: number | null;
  gpu_buffers: number | null;
  idb_growth_mb: number;
  ms_per_step: number;
  backend: string;
  pack: string;
}

interface Sample {
  step: number;
  pageHeap: number;
  workerHeap: number | null;
  gpuBuffers: number | null;
  storage: number;
}

/** The pack's dataset shapes from its manifest (public/models/<id>/manifest.json). */
function shapes(packId: string) {
  const m = JSON.parse(readFileSync(`public/models/${packId}/manifest.json`, "utf8"));
  const enc = m.roles.image_encoder;
  return {
    latent: m.latent.channels * m.latent.height * m.latent.width,
    tokens: enc.tokens * enc.dim,
    promptLength: m.prompt.length as number,
  };
}

/** A CDP channel to the page's training worker (a non-flattened session on its target), or undefined. */
async function workerChannel(cdp: CDPSession) {
  const { targetInfos } = await cdp.send("Target.getTargets");
  const target = targetInfos.find((t) => t.type === "worker" && t.url.includes("training.worker"));
  if (!target) return undefined;
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: target.targetId, flatten: false });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
    if (m.id !== undefined) pending.delete(m.id);
  });
  return <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = ++next;
      pending.set(id, resolve as (r: unknown) => void);
      void cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) });
    });
}

const MB = 1024 * 1024;

/** Trains a run of `steps + checkpointEvery` steps, measures at steps `checkpointEvery` and `steps`, then pauses it. */
export async function soak(page: Page, o: SoakOptions): Promise<SoakMetrics> {
  const runId = o.runId ?? `soak-${Date.now()}`;
  // Under tsx (the benchmarks), esbuild's keepNames makes the callbacks below call a `__name` helper.
  await page.evaluate("globalThis.__name = (f) => f");
  const keep = o.keepCheckpoints ?? DEFAULT_TRAIN_CONFIG.keepCheckpoints;
  const cdp = await page.context().newCDPSession(page);
  const worker = await workerChannel(cdp);
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    return (await cdp.send("Runtime.getHeapUsage")).usedSize;
  };
  const workerHeap = async () => {
    if (!worker) return null;
    await worker("HeapProfiler.collectGarbage");
    return (await worker<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize;
  };
  const measure = async (step: number): Promise<Sample> => {
    const [pageHeap, wHeap] = [await heap(), await workerHeap()];
    const { gpuBuffers, storage } = await page.evaluate(async () => {
      const stats = await window.patchdpo?.training.call((api) => api.testStats());
      return { gpuBuffers: stats?.gpuBuffers ?? null, storage: (await navigator.storage.estimate()).usage ?? 0 };
    });
    return { step, pageHeap, workerHeap: wHeap, gpuBuffers, storage };
  };

  let first: Sample | undefined;
  let last: Sample | undefined;
  let failure: unknown;
  await page.exposeFunction("__soakCheckpoint", async (step: number, status: string) => {
    try {
      if (status !== "running") return;
      if (step === o.checkpointEvery && !first) first = await measure(step);
      if (step === o.steps && !last) {
        last = await measure(step);
        await page.evaluate((id) => window.patchdpo?.training.call((api) => api.pause(id)), runId);
      }
    } catch (e) {
      failure = e;
    }
  });
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    // Past the last measurement, so the engine still runs when it is taken; the run pauses there.
    steps: o.steps + o.checkpointEvery,
    lr: 1e-3,
    checkpointEvery: o.checkpointEvery,
    keepCheckpoints: keep,
    monitorEvery: 10,
  };
  const run = await page.evaluate(
    async ({ runId, packId, config, shape }) => {
      const studio = window.patchdpo;
      if (!studio) throw new Error("window.patchdpo is missing");
      const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + k));
      const dataset = {
        packId,
        grid: { height: 8, width: 8 },
        references: [0, 1].map((r) => ({
          id: `r${r}`,
          latent: wave(shape.latent, r),
          imageTokens: wave(shape.tokens, 10 + r),
          promptIds: new Array(shape.promptLength).fill(0),
        })),
        samples: [0, 1, 2, 3].map((i) => ({
          ref: i >> 1,
          prompt: {},
          promptIds: Array.from({ length: shape.promptLength }, (_, j) => (j === 0 ? 2 + i : 0)),
          seed: i,
          latent: wave(shape.latent, 20 + i),
          mGen: wave(64, 30 + i),
          mRef: wave(64, 40 + i),
        })),
      };
      let backend = "unknown";
      const soakCheckpoint = (window as unknown as { __soakCheckpoint(s: number, st: string): Promise<void> })
        .__soakCheckpoint;
      const record = await studio.training.call((api) =>
        api.train(
          runId,
          packId,
          dataset,
          config,
          studio.callback((e) => {
            if (e.kind === "backend") backend = e.backend;
            if (e.kind === "checkpoint") void soakCheckpoint(e.step, e.status);
          }),
        ),
      );
      const ms = record.history.map((r) => r.ms);
      return {
        status: record.status,
        message: record.message,
        backend,
        msPerStep: ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length),
      };
    },
    { runId, packId: o.packId, config, shape: shapes(o.packId) },
  );
  if (failure) throw failure;
  if (!first || !last) throw new Error(`the soak run ended (${run.status}: ${run.message}) before both measurements`);
  const f = first;
  const l = last;
  const pageGrowth = (l.pageHeap - f.pageHeap) / MB;
  const workerGrowth = l.workerHeap !== null && f.workerHeap !== null ? (l.workerHeap - f.workerHeap) / MB : null;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    steps: l.step,
    checkpoint_every: o.checkpointEvery,
    keep_checkpoints: keep,
    heap_growth_mb: round(pageGrowth + (workerGrowth ?? 0)),
    page_heap_growth_mb: round(pageGrowth),
    worker_heap_growth_mb: workerGrowth === null ? null : round(workerGrowth),
    gpu_buffers_growth: l.gpuBuffers !== null && f.gpuBuffers !== null ? l.gpuBuffers - f.gpuBuffers : null,
    gpu_buffers: l.gpuBuffers,
    idb_growth_mb: round((l.storage - f.storage) / MB),
    ms_per_step: Math.round(run.msPerStep * 10) / 10,
    backend: run.backend,
    pack: o.packId,
  };
}

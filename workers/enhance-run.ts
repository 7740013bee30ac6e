/**
 * Enhancement runs inside the training worker: the pack's patch encoder (or random weights) on
 * the WGSL engine when WebGPU works, else the CPU engine; the shared EnhanceLoop; S_patch before,
 * every `evalEvery` steps and at the end; a checkpoint every `checkpointEvery` steps and on pause.
 * A lost device resumes on a new engine from the last checkpoint; a full storage quota stops the
 * run keeping the previous checkpoint.
 */
import { CpuVit, type VitArch } from "../src/core/engine/vit";
import { EnhanceData, EnhanceLoop } from "../src/core/enhance/run";
import { CpuEncoderTrainer, type EncoderTrainer } from "../src/core/enhance/trainer";
import { isQuotaError } from "../src/core/pack/errors";
import { GpuContext } from "../src/gpu/context";
import { GpuEncoderTrainer } from "../src/gpu/encoder-trainer";
import type { TrainingEngineChoice } from "../src/gpu/trainer";
import { stepFailure } from "./device-loss";
import type { EnhanceEvent, EnhanceRecord } from "./enhance-api";
import { type EnhanceCheckpoint, readEnhanceCheckpoint, saveEnhance, saveEnhanceCheckpoint } from "./enhance-store";
import { enhanceStart } from "./enhanced-encoder";

type F32 = Float32Array;

export interface EnhanceHooks {
  engine?: TrainingEngineChoice;
  onEngine?(ctx: GpuContext | null): void;
}

/** The WGSL trainer when WebGPU works (and the user did not choose the CPU), else the CPU one, with why. */
async function encoderTrainer(
  engine: TrainingEngineChoice,
  arch: VitArch,
  weights: ReadonlyMap<string, F32>,
  scope: EnhanceRecord["config"]["scope"],
): Promise<{ trainer: EncoderTrainer; backend: "webgpu" | "cpu"; ctx: GpuContext | null; note?: string }> {
  const cpu = (note?: string) => ({
    trainer: new CpuEncoderTrainer(new CpuVit(arch, new Map([...weights].map(([n, t]) => [n, t.slice()]))), scope),
    backend: "cpu" as const,
    ctx: null,
    note,
  });
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (engine === "cpu") return cpu();
  if (!gpu) return cpu("WebGPU is not available here");
  let ctx: GpuContext | null = null;
  try {
    ctx = await GpuContext.create(gpu, { label: "patchdpo-enhance" });
    return { trainer: await GpuEncoderTrainer.create(ctx, arch, weights, scope), backend: "webgpu", ctx };
  } catch (e) {
    ctx?.destroy();
    return cpu(`WebGPU failed: ${(e as Error).message}`);
  }
}

export async function enhanceRun(
  record: EnhanceRecord,
  signal: AbortSignal,
  onEvent: (e: EnhanceEvent) => void,
  hooks: EnhanceHooks = {},
): Promise<EnhanceRecord> {
  const { arch, start } = await enhanceStart(record);
  const data = new EnhanceData(
    record.images.map((i) => i.rgba),
    arch,
    record.config,
  );
  let good = await readEnhanceCheckpoint(record.id);
  /** Stores `cp` and then the record stating it. */
  const save = async (cp: EnhanceCheckpoint, status: EnhanceRecord["status"]) => {
    try {
      await saveEnhanceCheckpoint(record.id, cp);
      Object.assign(record, { step: cp.step, status });
      await saveEnhance(record);
    } catch (e) {
      if (!isQuotaError(e)) throw e;
      throw new StorageFull(good?.step);
    }
    good = cp;
    onEvent({ kind: "checkpoint", step: cp.step, status, message: record.message });
  };
  const settle = async (status: EnhanceRecord["status"], message: string) => {
    const step = good?.step ?? 0;
    Object.assign(record, {
      status,
      message,
      step,
      history: record.history.filter((r) => r.step <= step),
      sPatch: record.sPatch.filter((p) => p.step <= step),
    });
    await saveEnhance(record).catch(() => undefined);
    onEvent({ kind: "checkpoint", step, status, message });
    return record;
  };
  const evaluate = async (loop: EnhanceLoop) => {
    const { point, matches } = await loop.evaluate();
    record.sPatch = [...record.sPatch.filter((p) => p.step < point.step), point];
    record.matches = { before: record.matches.before ?? matches, latest: matches };
    onEvent({ kind: "s_patch", point, matches });
  };
  record.message = undefined;
  for (let losses = 0; ; losses++) {
    const choice = await encoderTrainer(hooks.engine ?? "webgpu", arch, start, record.config.scope);
    record.backend = choice.backend;
    onEvent({ kind: "backend", backend: choice.backend, note: choice.note });
    hooks.onEngine?.(choice.ctx);
    const loop = new EnhanceLoop(choice.trainer, data, record.config);
    try {
      if (good) loop.restore(good);
      record.history = record.history.filter((r) => r.step <= loop.step);
      if (!good) {
        await evaluate(loop);
        await save(await loop.checkpoint(), "running");
      } else await save(good, "running");
      while (!loop.done && !signal.aborted) {
        const report = await loop.next();
        record.history.push(report);
        onEvent({ kind: "step", report });
        if (loop.step % record.config.evalEvery === 0 || loop.done) await evaluate(loop);
        if (loop.step % record.config.checkpointEvery === 0) await save(await loop.checkpoint(), "running");
      }
      if (loop.step % record.config.evalEvery !== 0 && !loop.done) await evaluate(loop);
      await save(await loop.checkpoint(), loop.done ? "done" : "paused");
      return record;
    } catch (e) {
      if (e instanceof StorageFull) return await settle("interrupted", e.message);
      const { resume, why } = await stepFailure(choice.ctx, e, losses, signal);
      // The last checkpoint stays; train() or resume() again continues from it.
      if (!resume) return await settle("interrupted", why);
      record.message = `${why}; resumed on a new device from the checkpoint at step ${good?.step ?? 0}.`;
    } finally {
      choice.trainer.destroy();
      choice.ctx?.destroy();
    }
  }
}

class StorageFull extends Error {
  constructor(kept: number | undefined) {
    super(
      `Browser storage is full (QuotaExceededError): the encoder's checkpoint could not be saved, so enhancement stopped; ${
        kept === undefined ? "it has no stored checkpoint yet" : `its checkpoint at step ${kept} is kept`
      }. Delete saved runs, datasets or cached packs you no longer need, then resume.`,
    );
  }
}

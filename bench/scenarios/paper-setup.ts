/** What the `paper` benchmarks (single- and two-subject) share: the pack's metric encoders and scene kit, the training subjects, stage timing. */
import { readFileSync } from "node:fs";
import { sessionRun, wasmSession } from "../../node/ort";
import { decodePng } from "../../node/png";
import type { Pack } from "../../scripts/train/headless";
import { evaluatorEncoder, type ImageEncoder, packPatchEncoder } from "../../src/core/metrics/image-encoder";
import type { EvaluatorName, Manifest } from "../../src/core/pack/manifest";
import { loadSceneAssets, SceneRenderer } from "../../src/core/scene/render";

/** One of the pack's evaluators as a metric encoder on its own session; throws when the pack lacks it. */
export function packEvaluator(pack: Pack, name: EvaluatorName): Promise<ImageEncoder> {
  return evaluatorEncoder(pack.manifest, name, async (e) =>
    sessionRun(await wasmSession(readFileSync(`${pack.dir}/${e.file}`))),
  );
}

/** The pack's patch encoder on the pack's own sessions. */
export const patchEncoderOf = (pack: Pack) =>
  packPatchEncoder(pack.manifest, (feeds) => pack.run("patch_encoder", feeds));

export async function sceneRenderer(pack: Pack): Promise<SceneRenderer | undefined> {
  const kit = pack.manifest.scenes;
  if (!kit) return undefined;
  const assets = await loadSceneAssets(kit, async (f) => decodePng(readFileSync(`${pack.dir}/${f}`), f));
  return new SceneRenderer(kit, assets);
}

export const log = (msg: string) => console.error(`[paper] ${msg}`);

/** CPU seconds of this process and of its children that have exited (Linux: /proc/self/stat cutime, cstime). */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux
  return (user + system) / 1e6 + (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

export interface StageTime {
  wall_s: number;
  cpu_s: number;
}

/** Runs named stages, logging and keeping each one's wall-clock and CPU time. */
export function stageTimer() {
  const stages: Record<string, StageTime> = {};
  const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const wall = performance.now();
    const cpu = cpuSeconds();
    const result = await fn();
    stages[name] = { wall_s: (performance.now() - wall) / 1000, cpu_s: cpuSeconds() - cpu };
    log(`stage ${name}: ${stages[name].wall_s.toFixed(1)} s wall, ${stages[name].cpu_s.toFixed(1)} s CPU`);
    return result;
  };
  return { stages, time };
}

/**
 * `limit` training subjects: `gallery.train` minus the validation split (kept for tuning recipes),
 * evenly spaced over it, since the gallery is in codepoint order and a prefix would favour the
 * first categories.
 */
export function trainingSubjects(manifest: Manifest, limit: number): string[] {
  const fit = (manifest.gallery?.train ?? []).filter((e) => !e.validation).map((e) => e.id);
  if (limit >= fit.length) return fit;
  return Array.from({ length: limit }, (_, i) => fit[Math.floor((i * fit.length) / limit)]);
}

/// <reference lib="webworker" />
/**
 * Inference worker: loads model packs (files, cache, ONNX sessions) and runs sessions.
 * Every request that takes time carries a task id for cancel() and a progress callback.
 */
import * as Comlink from "comlink";
import { readBaseAdapter } from "../src/core/pack/base-adapter";
import { CacheQuotaError } from "../src/core/pack/errors";
import { type RoleName, requireRole } from "../src/core/pack/manifest";
import { stagePack } from "../src/core/pack/stage";
import { probeWebGpu } from "../src/gpu/device";
import { chooseBackend, guessBackend } from "./backend-choice";
import { CompareService } from "./compare";
import { listEnhance } from "./enhance-store";
import { EnhancedSessions } from "./enhanced-sessions";
import { type GenerationPack, Generator, gallerySource } from "./generation";
import { HfEncoderService } from "./hf-encoders";
import type {
  BackendChoice,
  ComputeEnv,
  ExecutionProvider,
  ExecutionProviderChoice,
  InferenceApi,
  LoadedPack,
} from "./inference-api";
import {
  configureOrt,
  createRoleSessions,
  type RoleSessions,
  releaseSessions,
  runSession,
  wasmThreads,
} from "./ort-sessions";
import { packCache } from "./pack-cache";
import { throttleProgress } from "./progress";
import { QualityService } from "./quality";
import { TaskSignals } from "./task-signals";

configureOrt(new URL(import.meta.env.BASE_URL, self.location.origin).href);

const cache = packCache();
const tasks = new TaskSignals();
const loaded = new Map<string, RoleSessions>();
let probed: ReturnType<typeof probeWebGpu> | undefined;
const probe = () => {
  probed ??= probeWebGpu();
  return probed;
};
/** "auto" as measured at the latest pack load with "auto"; guessed from the adapter before that. */
let auto: BackendChoice | undefined;
const quality = new QualityService((packId) => loaded.get(packId)?.patch_encoder);
const hfEncoders = new HfEncoderService(
  quality,
  async (provider) => {
    const { webgpu } = await environment();
    return { provider, shaderF16: provider === "webgpu" && webgpu.available && webgpu.adapter.shaderF16 };
  },
  self.fetch.bind(self),
);
const runner =
  (packId: string) => (role: RoleName, feeds: Parameters<typeof runSession>[1], onRunMs?: (ms: number) => void) => {
    const session = loaded.get(packId)?.[role];
    if (!session) throw new Error(`pack "${packId}" has no loaded ${role} session`);
    return runSession(session, feeds, onRunMs);
  };
const generator = new Generator(runner);
const enhancedSessions = new EnhancedSessions(quality);
const packs = new Map<string, { pack: GenerationPack; provider: ExecutionProvider }>();
const compare = new CompareService({
  pack(packId) {
    const p = packs.get(packId)?.pack;
    if (!p) throw new Error(`pack "${packId}" is not loaded`);
    return p;
  },
  run: runner,
  session: (packId, role) => loaded.get(packId)?.[role],
  userEncoder: (id) => quality.userEncoder(id),
  reference: (packId, subjectId) => generator.galleryReference(packId, subjectId),
  provider: (packId) => packs.get(packId)?.provider ?? "wasm",
});

/** What a backend choice is remembered per, besides the model and the adapter. */
const deviceKey = () => `${navigator.hardwareConcurrency} cores, ${wasmThreads()} WASM threads`;

const resolveProvider = async (choice: ExecutionProviderChoice): Promise<ExecutionProvider> =>
  choice === "auto" ? (await environment()).autoProvider : choice;

async function environment(): Promise<ComputeEnv> {
  const webgpu = await probe();
  const choice = auto ?? guessBackend(webgpu);
  return {
    webgpu,
    autoProvider: choice.provider,
    autoReason: choice.reason,
    crossOriginIsolated: self.crossOriginIsolated,
    wasmThreads: wasmThreads(),
    cores: navigator.hardwareConcurrency,
  };
}

const api: InferenceApi = {
  environment,

  loadPack(taskId, source, choice, onProgress) {
    return tasks.run(taskId, async (signal) => {
      const started = performance.now();
      const progress = throttleProgress(onProgress);
      // Leftovers of a tab closed mid-commit would otherwise stay until the next commit.
      await cache.gc();
      const staged = await stagePack(source, { cache, fetch: self.fetch.bind(self) }, { signal, onProgress: progress });
      const stagedAt = performance.now();
      const { manifest } = staged;
      const total = staged.record.totalBytes;
      let backend: BackendChoice | undefined;
      if (choice === "auto") {
        progress({ phase: "session", loaded: total, total, message: "Choosing the faster ONNX Runtime backend" });
        const denoiser = staged.bytes.get(manifest.roles.denoiser?.file ?? "");
        backend = denoiser
          ? await chooseBackend(manifest, denoiser, await probe(), deviceKey())
          : guessBackend(await probe());
        auto = backend;
        signal.throwIfAborted();
      }
      const provider: ExecutionProvider = backend?.provider ?? (choice === "auto" ? "wasm" : choice);
      const chosenAt = performance.now();
      const sessions = await createRoleSessions(manifest, staged.bytes, provider, signal, (role, file) =>
        progress({ phase: "session", loaded: total, total, message: `Creating session for ${role} (${file})` }),
      );
      const sessionsAt = performance.now();
      let cacheWarning: string | undefined;
      try {
        await staged.commit();
      } catch (e) {
        if (!(e instanceof CacheQuotaError)) {
          await releaseSessions(sessions);
          throw e;
        }
        cacheWarning = e.message;
      }
      const previous = loaded.get(manifest.id);
      loaded.set(manifest.id, sessions);
      const pack: GenerationPack = {
        manifest,
        baseAdapter: readBaseAdapter(manifest, staged.bytes),
        galleryFile: gallerySource(source, staged.record.source, self.fetch.bind(self)),
      };
      generator.register(pack);
      compare.forget(manifest.id);
      packs.set(manifest.id, { pack, provider });
      if (previous) await releaseSessions(previous);
      const result: LoadedPack = {
        id: manifest.id,
        manifest,
        provider,
        backend,
        loadMs: performance.now() - started,
        phaseMs: {
          files: stagedAt - started,
          backend: chosenAt - stagedAt,
          sessions: sessionsAt - chosenAt,
          cache_write: performance.now() - sessionsAt,
        },
        fromCache: staged.fromCache,
        fetched: staged.fetched,
        notes: staged.notes,
        cacheWarning,
      };
      return result;
    });
  },

  async cancel(taskId) {
    return tasks.cancel(taskId);
  },

  async measureBackend(packId) {
    const manifest = packs.get(packId)?.pack.manifest;
    if (!manifest) throw new Error(`pack "${packId}" is not loaded`);
    const read = await cache.read(requireRole(manifest, "denoiser"));
    if (!read.ok) throw new Error(`${read.problem}; the denoiser is timed from the pack cache`);
    auto = await chooseBackend(manifest, read.bytes, await probe(), deviceKey(), true);
    return auto;
  },

  async unloadPack(id) {
    const sessions = loaded.get(id);
    loaded.delete(id);
    generator.forget(id);
    compare.forget(id);
    packs.delete(id);
    if (sessions) await releaseSessions(sessions);
  },

  async run(packId, role: RoleName, feeds) {
    const session = loaded.get(packId)?.[role];
    if (!session) throw new Error(`pack "${packId}" has no loaded ${role} session`);
    return runSession(session, feeds);
  },

  generate(taskId, request, onProgress) {
    return tasks.run(taskId, (signal) => generator.generate(request, signal, onProgress));
  },

  galleryReference: (packId, subjectId) => generator.galleryReference(packId, subjectId),
  uploadedReference: (packId, file, name) => generator.uploadedReference(packId, file, name),

  patchQuality: (request) => quality.computeQuality(request),

  async loadUserEncoder(spec, model, choice) {
    return quality.loadUserEncoder(spec, model, choice === "auto" ? (await environment()).autoProvider : choice);
  },

  registerEncoder(taskId, source, choice, onProgress) {
    return tasks.run(taskId, async (signal) =>
      hfEncoders.register(source, await resolveProvider(choice), signal, onProgress),
    );
  },
  registeredEncoders: () => hfEncoders.records(),
  deleteRegisteredEncoder: (id) => hfEncoders.delete(id),
  async loadRegisteredEncoder(id, choice, file) {
    return hfEncoders.load(id, await resolveProvider(choice), file);
  },
  async enhancedEncoders() {
    return (await listEnhance()).filter((r) => r.step > 0);
  },
  async loadEnhancedEncoder(id, choice) {
    return enhancedSessions.openEncoder(id, await resolveProvider(choice));
  },
  runEncoder: (id, feeds) => runSession(quality.userEncoder(id).session, feeds),
  async onnxSignature(model, choice) {
    return hfEncoders.signature(model, await resolveProvider(choice));
  },

  compareCapabilities: (packId) => compare.capabilities(packId),
  compareCell(taskId, request) {
    return tasks.run(taskId, (signal) => compare.cell(request, signal));
  },

  cachedPacks: () => cache.records(),
  deleteCachedPack: (id) => cache.delete(id),
};

Comlink.expose(api);

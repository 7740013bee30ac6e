/**
 * Comparison cells in the inference worker: core/metrics/grid.ts over the loaded pack's sessions,
 * with the metric encoders the worker holds — the pack's patch encoder, the pack's evaluators
 * (`manifest.evaluators`: the independent evaluator and the random-weight ablation, each fetched
 * beside the pack and checked against its SHA-256), user encoders loaded for Inspect (global
 * similarity) — and the scene kit's ground truth when the pack has one.
 */
import type * as ort from "onnxruntime-web";
import { globalSlotSpec } from "../src/core/encoders/hf";
import { concatReferences } from "../src/core/engine/references";
import { encodeReference, imageToTensor, type RgbaImage, type RunRole } from "../src/core/generate";
import { cellReferenceOrder, cellSubjects, evaluateCell } from "../src/core/metrics/grid";
import {
  evaluatorSources,
  evaluatorSuite,
  type GlobalMetric,
  ImageEvaluator,
  type MetricSuite,
  missingEvaluatorNote,
} from "../src/core/metrics/image";
import { evaluatorEncoder, type ImageEncoder, imageEncoder, packPatchEncoder } from "../src/core/metrics/image-encoder";
import { pairPromptOf } from "../src/core/metrics/scene";
import { sha256Hex } from "../src/core/pack/hash";
import { EVALUATOR_NAMES, type EvaluatorName, type EvaluatorSpec } from "../src/core/pack/manifest";
import type { EncoderSpec } from "../src/core/quality/encoder-spec";
import { hwcToRgba, loadSceneAssets, SceneRenderer } from "../src/core/scene/render";
import type { CompareCapabilities, CompareCellRequest, CompareCellResult } from "./compare-api";
import type { GenerationPack } from "./generation";
import { decodeImageBlob } from "./image-decode";
import type { ExecutionProvider } from "./inference-api";
import { createSession, releaseSession, runSession } from "./ort-sessions";

/** Encoder sessions the worker already holds: a pack role or a user encoder by id. */
export interface CompareHost {
  pack(packId: string): GenerationPack;
  run(packId: string): RunRole;
  session(packId: string, role: "patch_encoder"): ort.InferenceSession | undefined;
  userEncoder(id: string): { session: ort.InferenceSession; spec: EncoderSpec; background: [number, number, number] };
  /** A gallery subject, fitted the way the image encoder sees it. */
  reference(packId: string, subjectId: string): Promise<RgbaImage>;
  provider(packId: string): ExecutionProvider;
}

interface PackExtras {
  /** The pack's evaluators that loaded, as metric encoders. */
  evaluators: Partial<Record<EvaluatorName, ImageEncoder>>;
  /** Their sessions, released when the pack is forgotten. */
  sessions: ort.InferenceSession[];
  scene?: SceneRenderer;
  notes: string[];
}

export class CompareService {
  private readonly extras = new Map<string, Promise<PackExtras>>();

  constructor(private readonly host: CompareHost) {}

  /** Drops what was loaded for a pack (it was unloaded or reloaded). */
  forget(packId: string): void {
    const e = this.extras.get(packId);
    this.extras.delete(packId);
    void e?.then((x) => Promise.all(x.sessions.map(releaseSession))).catch(() => {});
  }

  capabilities(packId: string): Promise<CompareCapabilities> {
    return this.load(packId).then((x) => ({
      evaluators: evaluatorSources(evaluatorSuite(x.evaluators)),
      scenes: !!x.scene,
      notes: x.notes,
    }));
  }

  private load(packId: string): Promise<PackExtras> {
    let found = this.extras.get(packId);
    if (!found) {
      found = this.loadExtras(packId);
      this.extras.set(packId, found);
    }
    return found;
  }

  /** The evaluator's ONNX from the pack, checked against the manifest's size and SHA-256. */
  private async evaluatorSession(packId: string, spec: EvaluatorSpec): Promise<ort.InferenceSession> {
    const bytes = new Uint8Array(await (await this.host.pack(packId).galleryFile(spec.file)).arrayBuffer());
    const hash = await sha256Hex(bytes);
    if (bytes.length !== spec.bytes || hash !== spec.sha256) {
      throw new Error(
        `${spec.file}: ${bytes.length} bytes, SHA-256 ${hash}; the manifest says ${spec.bytes}, ${spec.sha256}`,
      );
    }
    return createSession(bytes, this.host.provider(packId));
  }

  private async loadExtras(packId: string): Promise<PackExtras> {
    const { manifest, galleryFile } = this.host.pack(packId);
    const out: PackExtras = { evaluators: {}, sessions: [], notes: [] };
    for (const name of EVALUATOR_NAMES) {
      if (!manifest.evaluators?.[name]) {
        out.notes.push(missingEvaluatorNote(name));
        continue;
      }
      try {
        out.evaluators[name] = await evaluatorEncoder(manifest, name, async (evaluator) => {
          const session = await this.evaluatorSession(packId, evaluator);
          out.sessions.push(session);
          return (feeds) => runSession(session, feeds);
        });
      } catch (e) {
        out.notes.push(`evaluators.${name} unavailable: ${(e as Error).message}`);
      }
    }
    const kit = manifest.scenes;
    if (!kit) out.notes.push("the pack has no scene kit: no ground-truth metrics");
    else {
      try {
        out.scene = new SceneRenderer(
          kit,
          await loadSceneAssets(kit, async (f) => decodeImageBlob(await galleryFile(f), f)),
        );
      } catch (e) {
        out.notes.push(`scene kit unavailable: ${(e as Error).message}`);
      }
    }
    return out;
  }

  async cell(req: CompareCellRequest, signal: AbortSignal): Promise<CompareCellResult> {
    const pack = this.host.pack(req.packId);
    const { manifest } = pack;
    const extras = await this.load(req.packId);
    const patchSession = req.patchEncoder
      ? this.host.userEncoder(req.patchEncoder).session
      : this.host.session(req.packId, "patch_encoder");
    if (!patchSession) throw new Error(`pack "${req.packId}" has no loaded patch_encoder session`);
    const patchEncoder = packPatchEncoder(manifest, (feeds) => runSession(patchSession, feeds));
    const fromEvaluators = evaluatorSuite(extras.evaluators);
    const suite: MetricSuite = {
      patch: { patch_quality: patchEncoder, ...fromEvaluators.patch },
      global: { ...fromEvaluators.global },
      scene: extras.scene,
    };
    for (const [key, id] of Object.entries(req.global)) {
      if (!id) continue;
      const u = this.host.userEncoder(id);
      // DINO-style: the CLS token (or mean patch); CLIP-I: the image embedding output when there is one.
      const spec = globalSlotSpec(u.spec, key as GlobalMetric);
      suite.global[key as GlobalMetric] = imageEncoder(spec, u.background, (feeds) => runSession(u.session, feeds));
    }
    const { cell } = req;
    const run = this.host.run(req.packId);
    const subjects = cellSubjects(cell);
    const references = await Promise.all(subjects.map((s) => this.host.reference(req.packId, s)));
    const tokens = [];
    for (const [k, r] of references.entries())
      tokens.push(await encodeReference(run, manifest, imageToTensor(r, manifest.image, subjects[k])));
    const [reference, secondReference] = references;
    const imageTokens = concatReferences(tokens, cellReferenceOrder(manifest.prompt, cell));
    const evaluator = new ImageEvaluator(suite);
    const adapters = req.adapters.map(({ id, adapter }) => ({
      id,
      tensors: adapter.kind === "base" ? pack.baseAdapter : adapter.tensors,
    }));
    const r = await evaluateCell({
      run,
      manifest,
      imageTokens,
      reference,
      secondReference,
      adapters,
      cell,
      sampler: req.sampler,
      evaluator,
      signal,
    });
    const scene = extras.scene;
    const pairPrompt = pairPromptOf(manifest.prompt, cell.prompt);
    const truth = !scene
      ? undefined
      : cell.second !== undefined
        ? evaluator.pairScenes(cell.subject, cell.second, pairPrompt)
          ? hwcToRgba(scene.renderPair(cell.subject, cell.second, pairPrompt), scene.size)
          : undefined
        : evaluator.scenes(cell.subject, cell.prompt)
          ? hwcToRgba(scene.render(cell.subject, cell.prompt), scene.size)
          : undefined;
    return {
      reference,
      secondReference,
      truth,
      images: r.images,
      maps: r.evaluations.map((e) => e.maps),
      grid: { height: patchEncoder.spec.grid[0], width: patchEncoder.spec.grid[1] },
      records: r.records,
    };
  }
}

/**
 * The encoder registry in the inference worker: Hugging Face / transformers.js model folders
 * (src/core/encoders/) staged from a folder or a URL, opened with onnxruntime-web (external data,
 * the backend's export), checked against their configs, cached in IndexedDB (`patchdpo-encoders`,
 * the pack cache's layout and integrity checks) and handed to the QualityService, where Inspect
 * and Compare use them by id (`hf:<id>`).
 */

import type * as ort from "onnxruntime-web";
import {
  bindHfModel,
  CONFIG_FILE,
  deriveHfEncoderFromText,
  type HfBinding,
  type HfDerivation,
  PREPROCESSOR_FILE,
} from "../src/core/encoders/hf";
import type { Backend } from "../src/core/encoders/hf-folder";
import {
  ENCODER_DB_NAME,
  type EncoderModel,
  type EncoderRecord,
  encoderBaseUrl,
  encoderRecord,
  type FolderSource,
  recordModel,
  stageHfFolder,
} from "../src/core/encoders/registry";
import { externalDataOption, sessionSignature } from "../src/core/encoders/session";
import { onnxLoadError } from "../src/core/onnx-load-error";
import { PackCache } from "../src/core/pack/cache";
import { isQuotaError } from "../src/core/pack/errors";
import type { ValueInfo } from "../src/core/pack/signature";
import { idbStore } from "../src/core/pack/store";
import type { ExecutionProvider } from "./inference-api";
import { createSession, releaseSession } from "./ort-sessions";
import type { QualityService } from "./quality";
import type { UserEncoderInfo } from "./quality-api";

/** A model folder from the page: picked or dropped files by relative path, or a folder URL. */
export type EncoderFolderInput =
  | { kind: "files"; label: string; files: Record<string, File> }
  | { kind: "url"; url: string };

export interface RegisteredEncoder {
  record: EncoderRecord;
  info: UserEncoderInfo;
}

export interface OnnxSignature {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

const workerId = (id: string) => `hf:${id}`;

export class HfEncoderService {
  private readonly cache = new PackCache<EncoderRecord>(idbStore(ENCODER_DB_NAME), "encoder:");
  /** What is open per registered id: provider and export, and the info handed out. */
  private readonly open = new Map<string, { provider: ExecutionProvider; file: string; info: UserEncoderInfo }>();

  constructor(
    private readonly quality: QualityService,
    private readonly backend: (provider: ExecutionProvider) => Promise<Backend>,
    private readonly fetchFn: typeof fetch,
  ) {}

  records(): Promise<EncoderRecord[]> {
    return this.cache.records();
  }

  /** Stages, opens and checks a folder, then caches it; the encoder is ready to use when this returns. */
  async register(
    input: EncoderFolderInput,
    provider: ExecutionProvider,
    signal: AbortSignal,
    onProgress: (message: string) => void,
  ): Promise<RegisteredEncoder> {
    await this.cache.gc();
    const backend = await this.backend(provider);
    let reported = 0;
    const source: FolderSource =
      input.kind === "files"
        ? { kind: "files", label: input.label, files: new Map(Object.entries(input.files)) }
        : {
            kind: "url",
            url: encoderBaseUrl(input.url),
            fetch: this.fetchFn,
            signal,
            onBytes: (file, loaded) => {
              // A message per chunk would flood the page: a few per second.
              if (performance.now() - reported < 250) return;
              reported = performance.now();
              onProgress(`Downloading ${file}: ${(loaded / 2 ** 20).toFixed(1)} MB`);
            },
          };
    onProgress("Reading config.json, preprocessor_config.json and onnx/");
    const staged = await stageHfFolder(source, backend);
    signal.throwIfAborted();
    onProgress(`Creating session for ${staged.chosen.file}`);
    const bytes = (file: string) => staged.bytes.get(file) as Uint8Array;
    const { session, binding } = await this.openModel(staged.derivation, staged.chosen, bytes, provider);
    try {
      const sig = sessionSignature(session);
      const { record, blobs } = await encoderRecord(
        staged,
        binding.spec,
        { file: staged.chosen.file, inputs: sig.inputMetadata, outputs: sig.outputMetadata },
        binding.notes,
      );
      signal.throwIfAborted();
      onProgress(`Caching ${staged.title}`);
      try {
        await this.cache.commit(record, blobs);
      } catch (e) {
        if (isQuotaError(e) || (e as Error).name === "CacheQuotaError") {
          throw new Error(
            `Not enough browser storage to register "${record.id}"; delete registered encoders or cached packs in the Models tab`,
          );
        }
        throw e;
      }
      const info = await this.install(record, staged.chosen, session, binding, provider);
      return { record, info };
    } catch (e) {
      await releaseSession(session);
      throw e;
    }
  }

  /** Opens a registered encoder (the backend's export, or `file`), re-checking every file it reads. */
  async load(id: string, provider: ExecutionProvider, file?: string): Promise<UserEncoderInfo> {
    const record = await this.cache.record(id);
    if (!record) throw new Error(`encoder "${id}" is not registered (deleted in another tab?)`);
    const model = recordModel(record, await this.backend(provider), file);
    const current = this.open.get(id);
    if (current && current.provider === provider && current.file === model.file) return current.info;
    const bytes = new Map<string, Uint8Array>();
    const needed = [CONFIG_FILE, PREPROCESSOR_FILE, model.file, ...model.externalData.map((d) => d.file)];
    for (const name of needed) {
      const ref = record.files.find((f) => f.file === name);
      if (!ref) throw new Error(`registered encoder "${id}": ${name} was not stored; register the folder again`);
      const read = await this.cache.read(ref);
      if (!read.ok) throw new Error(`registered encoder "${id}": ${read.problem}; register the folder again`);
      bytes.set(name, read.bytes);
    }
    const decode = (name: string) => new TextDecoder().decode(bytes.get(name));
    const derivation = deriveHfEncoderFromText(decode(CONFIG_FILE), decode(PREPROCESSOR_FILE));
    const { session, binding } = await this.openModel(derivation, model, (f) => bytes.get(f) as Uint8Array, provider);
    return this.install(record, model, session, binding, provider);
  }

  async delete(id: string): Promise<void> {
    this.open.delete(id);
    await this.quality.removeEncoder(workerId(id));
    await this.cache.delete(id);
  }

  /** The inputs and outputs an ONNX file declares (the hand-written description form prefills from them). */
  async signature(model: Uint8Array, provider: ExecutionProvider): Promise<OnnxSignature> {
    let session: ort.InferenceSession;
    try {
      session = await createSession(model, provider);
    } catch (e) {
      throw new Error(onnxLoadError("the chosen file", e));
    }
    const sig = sessionSignature(session);
    await releaseSession(session);
    return { inputs: sig.inputMetadata, outputs: sig.outputMetadata };
  }

  private async openModel(
    derivation: HfDerivation,
    model: EncoderModel,
    bytes: (file: string) => Uint8Array,
    provider: ExecutionProvider,
  ): Promise<{ session: ort.InferenceSession; binding: HfBinding }> {
    let session: ort.InferenceSession;
    try {
      const { externalData } = externalDataOption(model, bytes);
      session = await createSession(bytes(model.file), provider, externalData);
    } catch (e) {
      throw new Error(onnxLoadError(model.file, e));
    }
    try {
      return { session, binding: bindHfModel(derivation, sessionSignature(session), model.file) };
    } catch (e) {
      await releaseSession(session);
      throw e;
    }
  }

  private async install(
    record: EncoderRecord,
    model: EncoderModel,
    session: ort.InferenceSession,
    binding: HfBinding,
    provider: ExecutionProvider,
  ): Promise<UserEncoderInfo> {
    const id = workerId(record.id);
    await this.quality.addEncoder(id, { session, spec: binding.spec, label: `${record.title} (${model.file})` });
    const info: UserEncoderInfo = {
      id,
      spec: { ...binding.spec, file: model.file },
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      registered: { id: record.id, title: record.title, file: model.file, provider, notes: binding.notes },
    };
    this.open.set(record.id, { provider, file: model.file, info });
    return info;
  }
}

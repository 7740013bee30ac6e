/**
 * Registered encoders: Hugging Face / transformers.js model folders kept in IndexedDB the way packs
 * are (content-addressed blobs with each file's size and SHA-256 in the record, re-checked on
 * every read; see ../pack/cache.ts), each with its derived spec and the I/O signature of the
 * ONNX export that was checked.
 *
 * `stageHfFolder` reads a folder (a local listing, or a URL that cannot be listed: the known file
 * names are tried in the backend's order), derives the spec and finds each export's external data;
 * the caller opens the chosen export with ORT, binds it (./hf.ts bindHfModel) and commits.
 */
import { download, downloadIfPresent } from "../pack/download";
import { sha256Hex } from "../pack/hash";
import type { FileRef } from "../pack/manifest";
import type { ValueInfo } from "../pack/signature";
import type { EncoderSpec } from "../quality/encoder-spec";
import { CONFIG_FILE, deriveHfEncoderFromText, HfConfigError, type HfDerivation, PREPROCESSOR_FILE } from "./hf";
import {
  type Backend,
  checkExternalData,
  chooseModelFile,
  type ExternalData,
  encoderId,
  externalDataPath,
  folderRoot,
  type ModelFile,
  modelFiles,
  modelUrlCandidates,
} from "./hf-folder";
import { externalDataFiles } from "./onnx-proto";

export const ENCODER_DB_NAME = "patchdpo-encoders";

export type EncoderSource = { kind: "files"; label: string } | { kind: "url"; url: string };

/** One ONNX export of a registered encoder and the external data files it needs (folder-relative). */
export interface EncoderModel extends ModelFile {
  externalData: ExternalData[];
}

export interface EncoderSignature {
  /** The export that was opened and checked. */
  file: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface EncoderRecord {
  id: string;
  /** The folder or URL name the user knows it by. */
  title: string;
  modelType: string;
  family: HfDerivation["family"];
  processor: string;
  source: EncoderSource;
  /** Every stored file: config.json, preprocessor_config.json, the exports and their external data. */
  files: FileRef[];
  totalBytes: number;
  models: EncoderModel[];
  /** The derived spec, names bound to the checked export. */
  spec: EncoderSpec;
  signature: EncoderSignature;
  notes: string[];
  cachedAt: string;
}

/** A model folder: its root-relative listing, or a base URL whose files are fetched by name. */
export type FolderSource =
  | { kind: "files"; label: string; files: ReadonlyMap<string, Blob> }
  | {
      kind: "url";
      url: string;
      fetch: typeof fetch;
      signal?: AbortSignal;
      onBytes?: (file: string, loaded: number) => void;
    };

export interface StagedFolder {
  id: string;
  title: string;
  source: EncoderSource;
  derivation: HfDerivation;
  models: EncoderModel[];
  /** The export to open on this backend. */
  chosen: EncoderModel;
  /** Bytes of every staged file by folder-relative path. */
  bytes: Map<string, Uint8Array>;
}

/** Normalizes a folder URL (or the URL of its config.json) to the folder with a trailing slash. */
export function encoderBaseUrl(input: string, base?: string): string {
  const url = new URL(input, base);
  if (url.pathname.endsWith(`/${CONFIG_FILE}`)) url.pathname = url.pathname.slice(0, -CONFIG_FILE.length);
  else if (!url.pathname.endsWith("/")) url.pathname += "/";
  url.search = "";
  url.hash = "";
  return url.href;
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/** The external data locations of one export, errors naming it. */
function externalOf(file: string, model: Uint8Array): string[] {
  try {
    return externalDataFiles(model);
  } catch (e) {
    throw new HfConfigError(`${file}: ${(e as Error).message}`);
  }
}

type UrlSource = Extract<FolderSource, { kind: "url" }>;
type FilesSource = Extract<FolderSource, { kind: "files" }>;

/**
 * Fetches one file of a URL folder with byte progress; a 404 of an optional one (a candidate
 * export name, preprocessor_config.json) is undefined, any other failure an error naming the file.
 */
async function fetchFile(source: UrlSource, path: string, optional: boolean): Promise<Uint8Array | undefined> {
  const opts = {
    fetch: source.fetch,
    signal: source.signal,
    onBytes: (loaded: number) => source.onBytes?.(path, loaded),
    label: path,
  };
  const url = new URL(path, source.url).href;
  return optional ? downloadIfPresent(url, opts) : download(url, opts);
}

function staged(
  source: FolderSource,
  title: string,
  derivation: HfDerivation,
  models: EncoderModel[],
  chosen: EncoderModel,
  bytes: Map<string, Uint8Array>,
): StagedFolder {
  return {
    id: encoderId(title),
    title,
    source: source.kind === "url" ? { kind: "url", url: source.url } : { kind: "files", label: source.label },
    derivation,
    models,
    chosen,
    bytes,
  };
}

/** A local folder: every known export is read (the backend may change later), with its external data. */
async function stageFiles(source: FilesSource, backend: Backend): Promise<StagedFolder> {
  const { root, files: paths } = folderRoot([...source.files.keys()]);
  const bytes = new Map<string, Uint8Array>();
  const get = async (path: string) => {
    const blob = source.files.get(root + path);
    if (!blob) return undefined;
    const b = new Uint8Array(await blob.arrayBuffer());
    bytes.set(path, b);
    return b;
  };
  const config = text(await get(CONFIG_FILE)) as string;
  const derivation = deriveHfEncoderFromText(config, text(await get(PREPROCESSOR_FILE)));
  const present = new Set(paths);
  const models: EncoderModel[] = [];
  for (const m of modelFiles(paths, derivation.family)) {
    const model = (await get(m.file)) as Uint8Array;
    const externalData = checkExternalData(m.file, externalOf(m.file, model), present);
    for (const d of externalData) await get(d.file);
    models.push({ ...m, externalData });
  }
  const pick = chooseModelFile(models, backend);
  const chosen = models.find((m) => m.file === pick.file) as EncoderModel;
  const title = root.replace(/\/$/, "").split("/").at(-1) || source.label;
  return staged(source, title, derivation, models, chosen, bytes);
}

/** A URL folder cannot be listed: the backend's export is found by trying the known names in its order. */
async function stageUrl(source: UrlSource, backend: Backend): Promise<StagedFolder> {
  const bytes = new Map<string, Uint8Array>();
  const get = async (path: string, optional = false) => {
    const b = await fetchFile(source, path, optional);
    if (b) bytes.set(path, b);
    return b;
  };
  const config = await get(CONFIG_FILE, true);
  if (!config) throw new HfConfigError(`${CONFIG_FILE}: missing at ${source.url} (HTTP 404)`);
  const derivation = deriveHfEncoderFromText(text(config) as string, text(await get(PREPROCESSOR_FILE, true)));
  const tried: string[] = [];
  for (const m of modelUrlCandidates(derivation.family, backend)) {
    tried.push(m.file);
    const model = await get(m.file, true);
    if (!model) continue;
    const chosen: EncoderModel = { ...m, externalData: [] };
    for (const location of externalOf(m.file, model)) {
      const file = externalDataPath(m.file, location);
      if (!(await get(file, true))) checkExternalData(m.file, [location], new Set());
      chosen.externalData.push({ location, file });
    }
    const parts = new URL(source.url).pathname.split("/").filter(Boolean);
    // A Hub URL ends in …/<owner>/<repo>/resolve/<revision>/.
    const at = parts.lastIndexOf("resolve");
    const title = at >= 1 ? parts[at - 1] : (parts.at(-1) ?? "encoder");
    return staged(source, title, derivation, [chosen], chosen, bytes);
  }
  throw new HfConfigError(`no ONNX model at ${source.url}: tried ${tried.join(", ")}`);
}

/** Reads a model folder and derives its spec; nothing is written. */
export function stageHfFolder(source: FolderSource, backend: Backend): Promise<StagedFolder> {
  return source.kind === "files" ? stageFiles(source, backend) : stageUrl(source, backend);
}

/** The record to store for a staged folder whose chosen export was opened and bound. */
export async function encoderRecord(
  staged: StagedFolder,
  spec: EncoderSpec,
  signature: EncoderSignature,
  notes: string[],
): Promise<{ record: EncoderRecord; blobs: Map<string, Uint8Array> }> {
  const files: FileRef[] = [];
  const blobs = new Map<string, Uint8Array>();
  for (const [file, bytes] of staged.bytes) {
    const sha256 = await sha256Hex(bytes);
    files.push({ file, bytes: bytes.length, sha256 });
    blobs.set(sha256, bytes);
  }
  const d = staged.derivation;
  return {
    record: {
      id: staged.id,
      title: staged.title,
      modelType: d.modelType,
      family: d.family,
      processor: d.processor,
      source: staged.source,
      files,
      totalBytes: files.reduce((s, f) => s + f.bytes, 0),
      models: staged.models,
      spec,
      signature,
      notes: [...d.notes, ...notes],
      cachedAt: new Date().toISOString(),
    },
    blobs,
  };
}

/** The export of a record to open: `file` when given and stored, else the backend's choice. */
export function recordModel(record: EncoderRecord, backend: Backend, file?: string): EncoderModel {
  if (file) {
    const m = record.models.find((x) => x.file === file);
    if (m) return m;
  }
  const pick = chooseModelFile(record.models, backend);
  return record.models.find((m) => m.file === pick.file) as EncoderModel;
}

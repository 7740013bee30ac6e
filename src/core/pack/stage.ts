/**
 * Gets a pack's manifest and files from a URL, local files or the cache, verifying sizes and
 * hashes, without touching the cache yet. The caller creates and checks the ONNX sessions and only
 * then calls commit(), so only packs that loaded completely are cached.
 */
import type { PackCache, PackRecord, SourceInfo } from "./cache";
import { download } from "./download";
import { PackError } from "./errors";
import { sha256Hex } from "./hash";
import { MANIFEST_FILE, type Manifest, type PackFile, packFiles, parseManifest, validateManifest } from "./manifest";

export type PackSource =
  | { kind: "url"; url: string; builtin?: boolean }
  /** Files keyed by their path relative to the pack folder (e.g. "manifest.json", "vae_decoder.onnx"). */
  | { kind: "files"; files: Record<string, Blob>; label: string }
  | { kind: "cache"; id: string };

export interface LoadProgress {
  phase: "manifest" | "download" | "read" | "cache" | "session" | "commit";
  /** Bytes done and expected over the whole pack (download/read/cache phases). */
  loaded: number;
  total: number;
  message: string;
}

export interface StagedPack {
  manifest: Manifest;
  record: PackRecord;
  /** File bytes by pack-relative path. */
  bytes: Map<string, Uint8Array>;
  /** Paths taken from the cache and paths fetched or read from their source. */
  fromCache: string[];
  fetched: string[];
  /** Notes for the user, e.g. a cached copy that failed its check and was fetched again. */
  notes: string[];
  commit(): Promise<void>;
}

export interface StageDeps {
  cache: PackCache;
  fetch: typeof fetch;
  now?: () => Date;
}

export interface StageOptions {
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

/** Normalizes a pack URL (folder or manifest.json) to its folder URL with a trailing slash. */
export function packBaseUrl(url: string, origin?: string): string {
  const u = new URL(url, origin);
  if (u.pathname.endsWith(`/${MANIFEST_FILE}`)) u.pathname = u.pathname.slice(0, -MANIFEST_FILE.length);
  if (!u.pathname.endsWith("/")) u.pathname += "/";
  u.search = "";
  u.hash = "";
  return u.href;
}

function label(f: PackFile): string {
  return `${f.file} (role ${f.role}${f.kind === "weights" ? " weights" : ""})`;
}

async function checkIntegrity(f: PackFile, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength !== f.bytes) {
    throw new PackError(`${label(f)}: got ${bytes.byteLength} bytes, the manifest says ${f.bytes}`);
  }
  if ((await sha256Hex(bytes)) !== f.sha256) {
    throw new PackError(`${label(f)}: sha256 does not match the manifest (file corrupt or from another pack version)`);
  }
}

async function readManifest(
  source: PackSource,
  deps: StageDeps,
  signal?: AbortSignal,
): Promise<{ manifest: Manifest; cached?: PackRecord }> {
  switch (source.kind) {
    case "cache": {
      const cached = await deps.cache.record(source.id);
      if (!cached) throw new PackError(`Pack "${source.id}" is not in the cache`);
      // Validated again: a pack cached under an older studio may lack what this one requires.
      return { manifest: validateManifest(cached.manifest), cached };
    }
    case "files": {
      const blob = source.files[MANIFEST_FILE];
      if (!blob) throw new PackError(`${MANIFEST_FILE} not found among the selected files (${source.label})`);
      return { manifest: parseManifest(await blob.text()) };
    }
    case "url": {
      const url = new URL(MANIFEST_FILE, source.url).href;
      let response: Response;
      try {
        response = await deps.fetch(url, { signal, cache: "no-cache" });
      } catch (e) {
        signal?.throwIfAborted();
        // Offline: fall back to the copy cached from this same URL, if any.
        const cached = (await deps.cache.records()).find((r) => r.source.kind === "url" && r.source.url === source.url);
        if (cached) return { manifest: validateManifest(cached.manifest), cached };
        throw new PackError(`${MANIFEST_FILE}: could not fetch ${url} (${(e as Error).message})`);
      }
      if (!response.ok) throw new PackError(`${MANIFEST_FILE}: fetching ${url} failed with HTTP ${response.status}`);
      return { manifest: parseManifest(await response.text()) };
    }
  }
}

export async function stagePack(source: PackSource, deps: StageDeps, opts: StageOptions = {}): Promise<StagedPack> {
  const { signal, onProgress } = opts;
  onProgress?.({ phase: "manifest", loaded: 0, total: 0, message: `Reading ${MANIFEST_FILE}` });
  const { manifest, cached: cachedRecord } = await readManifest(source, deps, signal);
  signal?.throwIfAborted();

  const files = packFiles(manifest);
  const total = files.reduce((s, f) => s + f.bytes, 0);
  if (source.kind === "files") {
    const missing = files.filter((f) => !source.files[f.file]).map(label);
    if (missing.length) throw new PackError(`Missing from the selected files (${source.label}): ${missing.join(", ")}`);
  }

  const bytes = new Map<string, Uint8Array>();
  const fromCache: string[] = [];
  const fetched: string[] = [];
  const notes: string[] = [];
  let done = 0;
  const report = (phase: LoadProgress["phase"], f: PackFile, extra = 0) =>
    onProgress?.({ phase, loaded: done + extra, total, message: `${phaseVerb[phase]} ${f.file}` });

  for (const f of files) {
    signal?.throwIfAborted();
    report("cache", f);
    const hit = await deps.cache.read(f);
    if (hit.ok) {
      bytes.set(f.file, hit.bytes);
      fromCache.push(f.file);
    } else {
      if (source.kind === "cache") throw new PackError(`Cached pack "${manifest.id}" is damaged: ${hit.problem}`);
      if (!hit.problem.endsWith("not in the cache")) notes.push(`${hit.problem}; fetched again`);
      let data: Uint8Array;
      if (source.kind === "url") {
        data = await download(new URL(f.file, source.url).href, {
          fetch: deps.fetch,
          signal,
          expectedBytes: f.bytes,
          label: label(f),
          onBytes: (loaded) => report("download", f, loaded),
        });
      } else {
        report("read", f);
        data = new Uint8Array(await source.files[f.file].arrayBuffer());
      }
      signal?.throwIfAborted();
      await checkIntegrity(f, data);
      bytes.set(f.file, data);
      fetched.push(f.file);
    }
    done += f.bytes;
    report("cache", f);
  }

  const sourceInfo: SourceInfo =
    source.kind === "url"
      ? { kind: "url", url: source.url, builtin: source.builtin ?? false }
      : source.kind === "files"
        ? { kind: "files", label: source.label }
        : (cachedRecord as PackRecord).source;
  const record: PackRecord = {
    id: manifest.id,
    title: manifest.title,
    manifest,
    source: sourceInfo,
    files,
    totalBytes: total,
    cachedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  const blobs = new Map(files.map((f) => [f.sha256, bytes.get(f.file) as Uint8Array]));
  return {
    manifest,
    record,
    bytes,
    fromCache,
    fetched,
    notes,
    commit: async () => {
      signal?.throwIfAborted();
      // Nothing new and the record already describes these files: leave the cache untouched.
      const existing = cachedRecord ?? (await deps.cache.record(manifest.id));
      if (fetched.length === 0 && existing && sameFiles(existing.files, files)) return;
      onProgress?.({ phase: "commit", loaded: total, total, message: "Writing to the cache" });
      await deps.cache.commit(record, blobs);
    },
  };
}

function sameFiles(a: PackFile[], b: PackFile[]): boolean {
  return a.length === b.length && a.every((f, i) => f.file === b[i].file && f.sha256 === b[i].sha256);
}

const phaseVerb: Record<LoadProgress["phase"], string> = {
  manifest: "Reading",
  download: "Downloading",
  read: "Reading",
  cache: "Checking",
  session: "Creating session for",
  commit: "Caching",
};

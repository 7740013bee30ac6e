/**
 * Pack cache over a KeyValueStore.
 *
 * Layout: `blob:<sha256>` holds file bytes (content-addressed, so packs sharing a file share it and
 * a new version never overwrites the bytes an older record still points to); `pack:<id>` holds the
 * record. A commit writes the blobs first and the record last, so a reader never sees a record
 * whose files are missing; a failed commit deletes the blobs it wrote. Blobs no record references
 * (left by a tab closed mid-commit) are removed by gc().
 */
import { CacheQuotaError, isQuotaError } from "./errors";
import { sha256Hex } from "./hash";
import type { Manifest, PackFile } from "./manifest";
import type { KeyValueStore } from "./store";

const RECORD_PREFIX = "pack:";
const BLOB_PREFIX = "blob:";

export type SourceInfo = { kind: "url"; url: string; builtin: boolean } | { kind: "files"; label: string };

export interface PackRecord {
  id: string;
  title: string;
  manifest: Manifest;
  source: SourceInfo;
  files: PackFile[];
  totalBytes: number;
  cachedAt: string;
}

/** What the cache needs of a record: its id and the files (blobs) it references. */
export interface CachedRecord {
  id: string;
  files: Pick<PackFile, "file" | "bytes" | "sha256">[];
  totalBytes: number;
}

export type VerifiedRead = { ok: true; bytes: Uint8Array } | { ok: false; problem: string };

/**
 * Packs by default; other records (registered encoders, src/core/encoders/registry.ts) use the
 * same layout under their own record prefix, in their own store.
 */
export class PackCache<R extends CachedRecord = PackRecord> {
  /** Commits, deletes and gc run one at a time so gc never sees a half-done commit. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: KeyValueStore,
    private readonly prefix = RECORD_PREFIX,
  ) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  async records(): Promise<R[]> {
    const ids = (await this.store.keys()).filter((k) => k.startsWith(this.prefix));
    const records = await Promise.all(ids.map((k) => this.store.get<R>(k)));
    return records.filter((r): r is Awaited<R> => r !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  record(id: string): Promise<R | undefined> {
    return this.store.get<R>(this.prefix + id);
  }

  /** Reads a cached file and checks its size and hash against what the manifest promises. */
  async read(file: Pick<PackFile, "file" | "bytes" | "sha256">): Promise<VerifiedRead> {
    const bytes = await this.store.get<Uint8Array>(BLOB_PREFIX + file.sha256);
    if (!bytes) return { ok: false, problem: `${file.file}: not in the cache` };
    if (bytes.byteLength !== file.bytes) {
      return { ok: false, problem: `${file.file}: cached copy has ${bytes.byteLength} bytes, expected ${file.bytes}` };
    }
    if ((await sha256Hex(bytes)) !== file.sha256) {
      return { ok: false, problem: `${file.file}: cached copy fails its sha256 check` };
    }
    return { ok: true, bytes };
  }

  /**
   * Stores the pack: missing blobs first, record last. On any failure the blobs written by this
   * call are deleted again and the previous record (if any) stays as it was.
   */
  commit(record: R, blobs: ReadonlyMap<string, Uint8Array>): Promise<void> {
    return this.exclusive(async () => {
      const existing = new Set((await this.store.keys()).filter((k) => k.startsWith(BLOB_PREFIX)));
      const written: string[] = [];
      try {
        for (const [sha, bytes] of blobs) {
          const key = BLOB_PREFIX + sha;
          if (existing.has(key)) continue;
          written.push(key);
          await this.store.set(key, bytes);
        }
        await this.store.set(this.prefix + record.id, record);
      } catch (e) {
        await Promise.allSettled(written.map((k) => this.store.del(k)));
        if (isQuotaError(e)) throw new CacheQuotaError(record.id, record.totalBytes);
        throw e;
      }
      await this.collect();
    });
  }

  delete(id: string): Promise<void> {
    return this.exclusive(async () => {
      await this.store.del(this.prefix + id);
      await this.collect();
    });
  }

  /** Deletes blobs that no record references; returns how many. */
  gc(): Promise<number> {
    return this.exclusive(() => this.collect());
  }

  private async collect(): Promise<number> {
    const keys = await this.store.keys();
    const referenced = new Set<string>();
    for (const r of await this.records()) for (const f of r.files) referenced.add(BLOB_PREFIX + f.sha256);
    const orphans = keys.filter((k) => k.startsWith(BLOB_PREFIX) && !referenced.has(k));
    await Promise.all(orphans.map((k) => this.store.del(k)));
    return orphans.length;
  }
}

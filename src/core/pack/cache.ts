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

export type VerifiedRead = { ok: true; bytes: Uint8Array } | { ok: false; problem: string };

export class PackCache {
  /** Commits, deletes and gc run one at a time so gc never sees a half-done commit. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly store: KeyValueStore) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  async records(): Promise<PackRecord[]> {
    const ids = (await this.store.keys()).filter((k) => k.startsWith(RECORD_PREFIX));
    const records = await Promise.all(ids.map((k) => this.store.get<PackRecord>(k)));
    return records.filter((r): r is PackRecord => r !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  record(id: string): Promise<PackRecord | undefined> {
    return this.store.get<PackRecord>(RECORD_PREFIX + id);
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
  commit(record: PackRecord, blobs: ReadonlyMap<string, Uint8Array>): Promise<void> {
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
        await this.store.set(RECORD_PREFIX + record.id, record);
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
      await this.store.del(RECORD_PREFIX + id);
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

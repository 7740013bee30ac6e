import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { PackCache, type PackRecord } from "./cache";
import { CacheQuotaError } from "./errors";
import { sha256Hex } from "./hash";
import { type Manifest, type PackFile, packFiles, validateManifest } from "./manifest";
import { idbStore } from "./store";
import { bytesOf, unitPack } from "./testing/fixtures";
import { MemoryStore } from "./testing/memory-store";

async function packRecord(id = "unit") {
  const { manifest: json, files } = await unitPack();
  const manifest = validateManifest({ ...json, id }) as Manifest;
  const list = packFiles(manifest);
  const record: PackRecord = {
    id,
    title: manifest.title,
    manifest,
    source: { kind: "url", url: `http://localhost/${id}/`, builtin: false },
    files: list,
    totalBytes: list.reduce((s, f) => s + f.bytes, 0),
    cachedAt: "2026-11-27T00:00:00.000Z",
  };
  const blobs = new Map(list.map((f) => [f.sha256, files[f.file as keyof typeof files]]));
  return { record, blobs, files: list };
}

describe("PackCache", () => {
  it("writes every blob before the record, and reads files back verified", async () => {
    const store = new MemoryStore();
    const cache = new PackCache(store);
    const { record, blobs, files } = await packRecord();
    await cache.commit(record, blobs);
    expect(store.log.at(-1)).toBe("set pack:unit");
    expect(store.log.filter((l) => l.startsWith("set blob:"))).toHaveLength(3);
    for (const f of files) {
      const read = await cache.read(f);
      expect(read.ok && (await sha256Hex(read.bytes))).toBe(f.sha256);
    }
    expect((await cache.records()).map((r) => r.id)).toEqual(["unit"]);
  });

  it("detects a cached file whose bytes changed", async () => {
    const store = new MemoryStore();
    const cache = new PackCache(store);
    const { record, blobs, files } = await packRecord();
    await cache.commit(record, blobs);
    const f = files[0] as PackFile;
    const tampered = bytesOf(f.bytes, 99);
    store.data.set(`blob:${f.sha256}`, tampered);
    expect(await cache.read(f)).toEqual({ ok: false, problem: "vae_encoder.onnx: cached copy fails its sha256 check" });
    store.data.set(`blob:${f.sha256}`, tampered.subarray(1));
    expect(await cache.read(f)).toEqual({
      ok: false,
      problem: `vae_encoder.onnx: cached copy has ${f.bytes - 1} bytes, expected ${f.bytes}`,
    });
  });

  it("on a quota error deletes what it wrote, keeps the old record, and says so clearly", async () => {
    const store = new MemoryStore();
    const cache = new PackCache(store);
    const old = await packRecord();
    await cache.commit(old.record, old.blobs);
    const before = new Map(store.data);

    // A new version of the same pack whose files all changed; the second blob write fails.
    const next = structuredClone(old);
    next.blobs = new Map();
    for (const [i, f] of next.record.files.entries()) {
      const bytes = bytesOf(f.bytes, 50 + i);
      f.sha256 = await sha256Hex(bytes);
      next.blobs.set(f.sha256, bytes);
    }
    store.failSetAt = 1;
    const error = await cache.commit(next.record, next.blobs).catch((e) => e);
    expect(error).toBeInstanceOf(CacheQuotaError);
    expect(error.message).toMatch(/^Not enough browser storage to cache pack "unit" \(76\.2 KB\)\. Nothing was cached/);
    expect(store.data).toEqual(before);
  });

  it("leaves no entry when the record write itself fails", async () => {
    const store = new MemoryStore();
    const cache = new PackCache(store);
    const { record, blobs } = await packRecord();
    store.failSetAt = 3; // three blobs succeed, the record fails
    await expect(cache.commit(record, blobs)).rejects.toBeInstanceOf(CacheQuotaError);
    expect(await store.keys()).toEqual([]);
  });

  it("delete keeps blobs another pack still uses; gc removes orphans", async () => {
    const store = new MemoryStore();
    const cache = new PackCache(store);
    const a = await packRecord("a");
    const b = await packRecord("b"); // same files, so the same blobs
    await cache.commit(a.record, a.blobs);
    await cache.commit(b.record, b.blobs);
    await cache.delete("a");
    expect((await store.keys()).sort()).toEqual([...[...b.blobs.keys()].map((s) => `blob:${s}`), "pack:b"].sort());
    store.data.set("blob:orphan", new Uint8Array(3));
    expect(await cache.gc()).toBe(1);
    await cache.delete("b");
    expect(await store.keys()).toEqual([]);
  });

  it("works the same over IndexedDB through idb-keyval", async () => {
    const cache = new PackCache(idbStore("unit-test-db", "kv"));
    const { record, blobs, files } = await packRecord();
    await cache.commit(record, blobs);
    const reopened = new PackCache(idbStore("unit-test-db", "kv"));
    expect((await reopened.records())[0].id).toBe("unit");
    const read = await reopened.read(files[1] as PackFile);
    expect(read.ok).toBe(true);
    await reopened.delete("unit");
    expect(await reopened.store.keys()).toEqual([]);
  });
});

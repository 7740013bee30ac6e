import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PackCache } from "./cache";
import { isAbortError } from "./errors";
import { type LoadProgress, packBaseUrl, stagePack } from "./stage";
import { unitPack } from "./testing/fixtures";
import { MemoryStore } from "./testing/memory-store";

/** A real HTTP server for the pack, so downloads stream through Node's fetch. */
let server: Server;
let base: string;
let files: Record<string, Uint8Array>;
let manifest: Awaited<ReturnType<typeof unitPack>>["manifest"];
let requests: string[];
/** Paths whose response stalls after the first chunk until the client gives up. */
let stall: Set<string>;

beforeAll(async () => {
  ({ files, manifest } = await unitPack());
  server = createServer((req, res) => {
    const path = (req.url ?? "").replace(/^\/pack\//, "");
    requests.push(path);
    const body = path === "manifest.json" ? new TextEncoder().encode(JSON.stringify(manifest)) : files[path];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Length": body.length });
    if (stall.has(path)) res.write(body.subarray(0, 1000));
    else res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pack/`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  requests = [];
  stall = new Set();
});

const deps = (store = new MemoryStore()) => ({ cache: new PackCache(store), fetch, store });

describe("stagePack from a URL", () => {
  it("downloads with progress, verifies, and caches only on commit", async () => {
    const { cache, store } = deps();
    const progress: LoadProgress[] = [];
    const staged = await stagePack(
      { kind: "url", url: base },
      { cache, fetch },
      { onProgress: (p) => progress.push(p) },
    );
    expect(staged.fetched).toEqual(["vae_encoder.onnx", "denoiser.onnx", "denoiser.safetensors"]);
    expect(staged.bytes.get("denoiser.onnx")).toEqual(files["denoiser.onnx"]);
    const downloads = progress.filter((p) => p.phase === "download");
    expect(downloads.length).toBeGreaterThan(3);
    const loaded = downloads.map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(progress.at(-1)?.loaded).toBe(progress.at(-1)?.total);
    expect(await store.keys()).toEqual([]);
    await staged.commit();
    expect((await store.keys()).filter((k) => k.startsWith("pack:"))).toEqual(["pack:unit"]);
  });

  it("reuses the cache without fetching any pack file again", async () => {
    const { cache } = deps();
    await (await stagePack({ kind: "url", url: base }, { cache, fetch })).commit();
    requests = [];
    const again = await stagePack({ kind: "url", url: base }, { cache, fetch });
    expect(again.fromCache).toHaveLength(3);
    expect(again.fetched).toEqual([]);
    expect(requests).toEqual(["manifest.json"]);
  });

  it("fetches a file again when its cached copy is corrupt", async () => {
    const { cache, store } = deps();
    await (await stagePack({ kind: "url", url: base }, { cache, fetch })).commit();
    const key = `blob:${manifest.roles.denoiser.sha256}`;
    store.data.set(key, new Uint8Array(files["denoiser.onnx"].length));
    const again = await stagePack({ kind: "url", url: base }, { cache, fetch });
    expect(again.fetched).toEqual(["denoiser.onnx"]);
    expect(again.notes).toEqual(["denoiser.onnx: cached copy fails its sha256 check; fetched again"]);
  });

  it("names the file and role when a download does not match the manifest", async () => {
    const original = files["denoiser.onnx"];
    try {
      files["denoiser.onnx"] = original.slice(0, 100);
      await expect(stagePack({ kind: "url", url: base }, deps())).rejects.toThrow(
        "denoiser.onnx (role denoiser): got 100 bytes, the manifest says 70000",
      );
      files["denoiser.onnx"] = original.map((b) => b ^ 1);
      await expect(stagePack({ kind: "url", url: base }, deps())).rejects.toThrow(
        "denoiser.onnx (role denoiser): sha256 does not match the manifest",
      );
    } finally {
      files["denoiser.onnx"] = original;
    }
  });

  it("reports a missing file and an invalid manifest precisely", async () => {
    const weights = files["denoiser.safetensors"];
    delete files["denoiser.safetensors"];
    await expect(stagePack({ kind: "url", url: base }, deps())).rejects.toThrow(
      `denoiser.safetensors (role denoiser weights): download from ${base}denoiser.safetensors failed with HTTP 404`,
    );
    files["denoiser.safetensors"] = weights;
    const saved = manifest.roles.denoiser.outputs;
    // biome-ignore lint/suspicious/noExplicitAny: removing a required field on purpose
    delete (manifest.roles.denoiser as any).outputs;
    try {
      await expect(stagePack({ kind: "url", url: base }, deps())).rejects.toThrow(
        "manifest.json: roles.denoiser.outputs: missing required field",
      );
    } finally {
      manifest.roles.denoiser.outputs = saved;
    }
  });

  it("stops on cancel mid-download and leaves the cache empty", async () => {
    const { cache, store } = deps();
    stall.add("denoiser.onnx");
    const controller = new AbortController();
    const staged = stagePack(
      { kind: "url", url: base },
      { cache, fetch },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === "download" && p.message.includes("denoiser.onnx")) controller.abort();
        },
      },
    );
    const error = await staged.catch((e) => e);
    expect(isAbortError(error)).toBe(true);
    expect(await store.keys()).toEqual([]);
  });

  it("falls back to the copy cached from the same URL when offline", async () => {
    const { cache } = deps();
    await (await stagePack({ kind: "url", url: base }, { cache, fetch })).commit();
    const offline = (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch;
    const staged = await stagePack({ kind: "url", url: base }, { cache, fetch: offline });
    expect(staged.fromCache).toHaveLength(3);
  });
});

describe("stagePack from local files and the cache", () => {
  const blobs = () => ({
    "manifest.json": new Blob([JSON.stringify(manifest)]),
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new Blob([v as Uint8Array<ArrayBuffer>])])),
  });

  it("reads and verifies local files, then loads them from the cache", async () => {
    const { cache } = deps();
    const staged = await stagePack({ kind: "files", files: blobs(), label: "folder unit" }, { cache, fetch });
    expect(staged.fetched).toHaveLength(3);
    await staged.commit();
    expect((await cache.record("unit"))?.source).toEqual({ kind: "files", label: "folder unit" });
    const cached = await stagePack({ kind: "cache", id: "unit" }, { cache, fetch });
    expect(cached.fromCache).toHaveLength(3);
  });

  it("lists the files a folder lacks", async () => {
    const partial: Record<string, Blob> = blobs();
    delete partial["denoiser.safetensors"];
    await expect(stagePack({ kind: "files", files: partial, label: "folder unit" }, deps())).rejects.toThrow(
      "Missing from the selected files (folder unit): denoiser.safetensors (role denoiser weights)",
    );
    await expect(stagePack({ kind: "files", files: {}, label: "2 files" }, deps())).rejects.toThrow(
      "manifest.json not found among the selected files (2 files)",
    );
  });

  it("refuses a damaged cached pack rather than using it", async () => {
    const { cache, store } = deps();
    await (await stagePack({ kind: "files", files: blobs(), label: "x" }, { cache, fetch })).commit();
    store.data.set(`blob:${manifest.roles.vae_encoder.sha256}`, new Uint8Array(1));
    await expect(stagePack({ kind: "cache", id: "unit" }, { cache, fetch })).rejects.toThrow(
      'Cached pack "unit" is damaged: vae_encoder.onnx: cached copy has 1 bytes, expected 3000',
    );
  });
});

describe("packBaseUrl", () => {
  it("accepts a folder or its manifest.json", () => {
    expect(packBaseUrl("https://x.org/p/manifest.json?x=1")).toBe("https://x.org/p/");
    expect(packBaseUrl("https://x.org/p")).toBe("https://x.org/p/");
    expect(packBaseUrl("/models/tiny", "http://localhost:5173/")).toBe("http://localhost:5173/models/tiny/");
  });
});

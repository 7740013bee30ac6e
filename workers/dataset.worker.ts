/// <reference lib="webworker" />
/**
 * Dataset worker: builds preference datasets with core buildDataset over the inference worker's
 * sessions (reached through the `run` callback, so the pack's networks load once), encodes the
 * images as PNG, stores datasets in IndexedDB, and exports and imports them as zips, in the studio's
 * format or the official PatchDPO layout (imports of that re-encode the images through `run`).
 */
import * as Comlink from "comlink";
import { unzipSync, zipSync } from "fflate";
import { buildDataset } from "../src/core/dataset/build";
import {
  DatasetFormatError,
  decodeDatasetZip,
  encodeDatasetZip,
  packShapes,
  type StoredDataset,
} from "../src/core/dataset/format";
import { fromOfficialLayout, toOfficialLayout } from "../src/core/dataset/official-layout";
import { encodeOfficialParts } from "../src/core/dataset/official-layout-encode";
import { meanQuality } from "../src/core/dataset/types";
import { imageToTensor, type RgbaImage, tensorToImage } from "../src/core/generate";
import type { Manifest } from "../src/core/pack/manifest";
import { packEncoderSpec } from "../src/core/quality/encoder-spec";
import type { DatasetApi } from "./dataset-api";
import { listDatasets, readDataset, removeDataset, saveDataset, summarize } from "./dataset-store";
import { decodeImageBlob } from "./image-decode";
import { lockTab, withTabLock } from "./tab-locks";
import { TaskSignals } from "./task-signals";

const tasks = new TaskSignals();

/** Writes dataset `name` of pack `packId` holding its lock, so no two tabs write one dataset. */
const writing = <T>(packId: string, name: string, tab: string | undefined, fn: () => Promise<T>) =>
  withTabLock("dataset", `${packId}/${name}`, lockTab(tab), fn);

async function pngBytes(image: RgbaImage): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2D canvas in the dataset worker");
  ctx.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
}

const shapesOf = (manifest: Manifest) => {
  const [height, width] = packEncoderSpec(manifest).grid;
  return packShapes(manifest, { height, width });
};

const api: DatasetApi = {
  build(taskId, req, run, onProgress) {
    return writing(req.manifest.id, req.name, req.tab, () =>
      tasks.run(taskId, async (signal) => {
        const { manifest } = req;
        const { size, range } = manifest.image;
        const referenceImages = await Promise.all(req.references.map((r) => pngBytes(r.image)));
        const sampleImages: Uint8Array[] = [];
        const pending: Promise<void>[] = [];
        const dataset = await buildDataset({
          run,
          manifest,
          adapter: req.adapter.tensors,
          references: req.references.map((r) => ({
            id: r.id,
            tensor: imageToTensor(r.image, manifest.image, r.label),
          })),
          pairs: req.pairs,
          prompts: req.prompts,
          seeds: req.seeds,
          sampler: req.sampler,
          refWeight: req.refWeight,
          signal,
          onSample: (done, total, sample, pixels) => {
            pending.push(
              pngBytes(tensorToImage(pixels, 0, size, range)).then((png) => {
                sampleImages[done - 1] = png;
                onProgress({ done, total, image: png, meanGen: meanQuality(sample) });
              }),
            );
          },
        });
        await Promise.all(pending);
        const stored: StoredDataset = {
          id: crypto.randomUUID(),
          name: req.name,
          createdAt: new Date().toISOString(),
          settings: {
            references: req.references.map(({ id, label, source }) => ({ id, label, source })),
            ...(req.pairs ? { pairs: req.pairs } : {}),
            prompts: req.prompts,
            seeds: req.seeds,
            sampler: req.sampler,
            adapter: req.adapter.label,
            refWeight: req.refWeight,
            ...(req.patchEncoder ? { patchEncoder: req.patchEncoder } : {}),
          },
          dataset,
          referenceImages,
          sampleImages,
        };
        await saveDataset(stored);
        return summarize(stored);
      }),
    );
  },
  async cancel(taskId) {
    return tasks.cancel(taskId);
  },
  list: listDatasets,
  get: readDataset,
  remove: removeDataset,
  async exportZip(id, manifest) {
    const d = await readDataset(id);
    if (!d) throw new Error(`no stored dataset "${id}"`);
    const zip = encodeDatasetZip(d, shapesOf(manifest));
    return Comlink.transfer(zip, [zip.buffer]);
  },
  async importZip(bytes, fileName, manifest, tab) {
    const stored: StoredDataset = { id: crypto.randomUUID(), ...decodeDatasetZip(bytes, shapesOf(manifest), fileName) };
    await writing(manifest.id, stored.name, tab, () => saveDataset(stored));
    return summarize(stored);
  },
  async exportOfficial(id, manifest) {
    const d = await readDataset(id);
    if (!d) throw new Error(`no stored dataset "${id}"`);
    const files = toOfficialLayout(d, shapesOf(manifest), manifest.prompt);
    const zip = zipSync(Object.fromEntries(files), { level: 1 });
    return Comlink.transfer(zip, [zip.buffer]);
  },
  importOfficial(taskId, bytes, fileName, manifest, run, onProgress, tab) {
    const name = fileName.replace(/\.zip$/i, "");
    return writing(manifest.id, name, tab, () =>
      tasks.run(taskId, async (signal) => {
        let files: Record<string, Uint8Array> = {};
        try {
          files = unzipSync(bytes);
        } catch (e) {
          throw new DatasetFormatError(fileName, `not a zip file (${(e as Error).message})`);
        }
        const parts = fromOfficialLayout(new Map(Object.entries(files)), shapesOf(manifest), manifest.prompt, fileName);
        const stored: StoredDataset = {
          id: crypto.randomUUID(),
          ...(await encodeOfficialParts(parts, {
            run,
            manifest,
            name,
            decode: (png, source) =>
              decodeImageBlob(new Blob([png as Uint8Array<ArrayBuffer>], { type: "image/png" }), source),
            signal,
            onProgress,
          })),
        };
        await saveDataset(stored);
        return { summary: summarize(stored), warnings: parts.warnings };
      }),
    );
  },
};

Comlink.expose(api);

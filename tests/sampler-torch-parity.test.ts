/**
 * The foundry's PyTorch sampler (`python3 -m foundry sample`, foundry/foundry/adapter/sample.py)
 * against the studio's generation path on the tiny pack: the Compare cell of core/metrics/grid.ts
 * (the reference's image tokens, one z_T per seed, generate with onnxruntime-web, tensorToImage)
 * gives the same image for the same subject, prompt, seed, sampler and adapter. The jobs go to
 * PyTorch in uneven batches that mix subjects, prompts and seeds, and with both samplers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nodeRunner } from "../node/ort";
import { baseAdapter, readManifest } from "../node/packs";
import { decodePng } from "../node/png";
import { foundrySample, type SampleJob } from "../scripts/train/foundry";
import { concatReferences } from "../src/core/engine/references";
import { relError } from "../src/core/engine/testing/tiny";
import {
  type AdapterTensors,
  encodePrompt,
  encodeReference,
  generate,
  imageToTensor,
  type PromptChoice,
  type RgbaImage,
  referenceOrder,
  tensorToImage,
} from "../src/core/generate";
import { type CompareSampler, evaluateCell, type GridCell, gridCells } from "../src/core/metrics/grid";
import { ImageEvaluator } from "../src/core/metrics/image";
import { exportAdapter } from "../src/core/training/adapter-file";

const PACK = "tiny";
const manifest = readManifest(PACK);
const run = nodeRunner(PACK);
const dir = mkdtempSync(join(tmpdir(), "sampler-parity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const subjects = (manifest.gallery?.heldout ?? []).slice(0, 2);
const prompts: PromptChoice[] = [
  { background: "blue", position: "left", size: "small" },
  { background: "stripes", position: "top-right", size: "large" },
];
const DDIM: CompareSampler = { steps: 4, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 };
const EULER: CompareSampler = { ...DDIM, sampler: "euler", ipScale: 0.8 };

/** The base adapter with its image path scaled up: a trained adapter's stand-in. */
const scaled: AdapterTensors = new Map([...baseAdapter(PACK)].map(([k, v]) => [k, v.map((x) => 1.5 * x)]));
const scaledFile = join(dir, "scaled.safetensors");
writeFileSync(scaledFile, new Uint8Array(exportAdapter(manifest, scaled)));

function galleryTensor(subject: string): Float32Array {
  const e = subjects.find((s) => s.id === subject);
  return imageToTensor(decodePng(readFileSync(`public/models/${PACK}/${e?.file}`), `${e?.file}`), manifest.image);
}

/** The studio's images of the cells: evaluateCell with no metrics, one image per adapter. */
async function studioImages(cells: GridCell[], sampler: CompareSampler, adapters: AdapterTensors[]) {
  const out: RgbaImage[][] = [];
  for (const cell of cells) {
    const tensor = galleryTensor(cell.subject);
    const r = await evaluateCell({
      run,
      manifest,
      imageTokens: await encodeReference(run, manifest, tensor),
      reference: tensorToImage(tensor, 0, manifest.image.size, manifest.image.range),
      adapters: adapters.map((tensors, i) => ({ id: String(i), tensors })),
      cell,
      sampler,
      evaluator: new ImageEvaluator({ patch: {}, global: {} }),
    });
    out.push(r.images);
  }
  return out;
}

const jobsOf = (cells: GridCell[], sampler: CompareSampler): SampleJob[] =>
  cells.map((c) => ({
    references: [subjects.findIndex((s) => s.id === c.subject)],
    promptIds: encodePrompt(manifest.prompt, c.prompt).map(Number),
    seed: c.seed,
    sampler,
  }));

function torchImages(name: string, jobs: SampleJob[], adapters?: string[]) {
  const references = subjects.map((s) => ({ id: s.id }));
  return foundrySample({ pack: PACK, references, jobs, adapters, dir, name, threads: 1, batch: 3 });
}

/** Largest and mean |a − b| over the RGB bytes. */
function pixelError(a: RgbaImage, b: RgbaImage): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(a.data[i] - b.data[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

/** Worst error over pairs of images. */
function worst(pairs: [RgbaImage, RgbaImage][]) {
  const e = pairs.map(([a, b]) => pixelError(a, b));
  return { max: Math.max(...e.map((x) => x.max)), mean: Math.max(...e.map((x) => x.mean)) };
}

// float32 sampling in two runtimes: rounding differences move a few bytes by one level.
const TOLERANCE = { max: 2, mean: 0.01 };

describe("PyTorch sampler vs the studio's generation (tiny pack, ORT WASM)", { timeout: 300_000 }, () => {
  const cells = gridCells(
    subjects.map((s) => s.id),
    () => prompts,
    [101, 102],
  );

  it("DDIM: the same images for every cell, base and trained adapter, in batches of 3", async () => {
    const studio = await studioImages(cells, DDIM, [baseAdapter(PACK), scaled]);
    const torch = await torchImages("ddim", jobsOf(cells, DDIM), ["base", scaledFile]);
    const [base, trained] = torch.images;
    const errors = {
      base: worst(cells.map((_, i) => [base[i], studio[i][0]])),
      trained: worst(cells.map((_, i) => [trained[i], studio[i][1]])),
    };
    console.log("sampler parity (uint8 levels)", JSON.stringify(errors));
    expect(errors.base.max).toBeLessThanOrEqual(TOLERANCE.max);
    expect(errors.base.mean).toBeLessThanOrEqual(TOLERANCE.mean);
    expect(errors.trained.max).toBeLessThanOrEqual(TOLERANCE.max);
    expect(errors.trained.mean).toBeLessThanOrEqual(TOLERANCE.mean);
    // The latent the dataset stores: the studio's generate on the first cell.
    const { subject, prompt, seed } = cells[0];
    const imageTokens = await encodeReference(run, manifest, galleryTensor(subject));
    const settings = { ...DDIM, prompt, seed, batch: 1 };
    const gen = await generate({ run, manifest, imageTokens, adapter: baseAdapter(PACK), settings });
    const latentError = relError(torch.latents[0][0], gen.latents);
    console.log("sampler parity, latent relative error", latentError);
    expect(latentError).toBeLessThan(1e-4);
    // The adapter, the seed and the prompt each change the image far beyond the tolerance.
    expect(pixelError(trained[0], studio[0][0]).mean).toBeGreaterThan(20 * TOLERANCE.mean);
    expect(pixelError(base[1], studio[0][0]).mean).toBeGreaterThan(20 * TOLERANCE.mean);
    expect(pixelError(base[2], studio[0][0]).mean).toBeGreaterThan(20 * TOLERANCE.mean);
    // The references are the gallery's pixels.
    for (const [i, s] of subjects.entries()) {
      const png = decodePng(readFileSync(`public/models/${PACK}/${s.file}`), s.file);
      expect(pixelError(torch.references[i], png).max).toBe(0);
    }
  });

  it("two subjects: both references' tokens in the layout's order give the same images", async () => {
    const [a, b] = subjects.map((x) => x.id);
    const pairCells: GridCell[] = ["A left, B right", "A right, B left"].map((position, i) => ({
      subject: a,
      second: b,
      prompt: { background: "green", position, size: "medium" },
      seed: 201 + i,
    }));
    const studio: RgbaImage[] = [];
    const tokens = await Promise.all([a, b].map((id) => encodeReference(run, manifest, galleryTensor(id))));
    for (const cell of pairCells) {
      const r = await evaluateCell({
        run,
        manifest,
        imageTokens: concatReferences(tokens, referenceOrder(manifest.prompt, cell.prompt)),
        reference: tensorToImage(galleryTensor(a), 0, manifest.image.size, manifest.image.range),
        secondReference: tensorToImage(galleryTensor(b), 0, manifest.image.size, manifest.image.range),
        adapters: [{ id: "base", tensors: baseAdapter(PACK) }],
        cell,
        sampler: DDIM,
        evaluator: new ImageEvaluator({ patch: {}, global: {} }),
      });
      studio.push(r.images[0]);
    }
    const jobs = pairCells.map((c) => ({
      references: referenceOrder(manifest.prompt, c.prompt),
      promptIds: encodePrompt(manifest.prompt, c.prompt).map(Number),
      seed: c.seed,
      sampler: DDIM,
    }));
    // One-reference jobs between them: the sampler batches by reference count. (The tiny pack's
    // image encoder barely tells subjects apart, so the order is tested in the foundry: job_tokens.)
    const torch = await torchImages("pairs", [jobs[0], ...jobsOf(cells.slice(0, 1), DDIM), jobs[1]]);
    const [first, , second] = torch.images[0];
    const e = worst([
      [first, studio[0]],
      [second, studio[1]],
    ]);
    console.log("sampler parity, two subjects (uint8 levels)", JSON.stringify(e));
    expect(e.max).toBeLessThanOrEqual(TOLERANCE.max);
    expect(e.mean).toBeLessThanOrEqual(TOLERANCE.mean);
  });

  it("Euler with ip scale 0.8: the same image", async () => {
    const one = cells.slice(0, 1);
    const [studio] = await studioImages(one, EULER, [baseAdapter(PACK)]);
    const torch = await torchImages("euler", jobsOf(one, EULER));
    const e = pixelError(torch.images[0][0], studio[0]);
    console.log("sampler parity, euler (uint8 levels)", JSON.stringify(e));
    expect(e.max).toBeLessThanOrEqual(TOLERANCE.max);
    expect(e.mean).toBeLessThanOrEqual(TOLERANCE.mean);
  });
});

/**
 * src/core/encoders/pil-resize.ts against Pillow itself (Debian's /usr/bin/python3 with PIL):
 * random and structured 8-bit RGB images, every filter, down- and upscaling by integer and
 * fractional factors, one axis only, and the sizes Hugging Face processors use (64 → 256, 256 → 224).
 * Every byte must agree.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { pilResize, RESAMPLE_FILTERS, type RgbImage } from "../src/core/encoders/pil-resize";
import { uint32Stream } from "../src/core/sampling/rng";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pil-resize-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resizes every job's raw RGB file with PIL; jobs are [in, w, h, out_w, out_h, filter id, out]. */
const SCRIPT = `
import json, sys
from PIL import Image
for src, w, h, ow, oh, f, dst in json.load(open(sys.argv[1])):
    im = Image.frombytes("RGB", (w, h), open(src, "rb").read())
    open(dst, "wb").write(im.resize((ow, oh), resample=f).tobytes())
`;

function randomImage(seed: number, width: number, height: number): RgbImage {
  const next = uint32Stream(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => next() & 255) };
}

/** Smooth gradients with hard edges, closer to real pictures than noise (and to clipping of the lobes). */
function structuredImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = Math.round((255 * x) / Math.max(1, width - 1));
      data[o + 1] = (x >> 2) % 2 === (y >> 2) % 2 ? 250 : 5;
      data[o + 2] = Math.round(127.5 + 127.5 * Math.sin(x * 0.7 + y * 0.3));
    }
  }
  return { width, height, data };
}

const IMAGES: [string, RgbImage][] = [
  ["noise 37x23", randomImage(1, 37, 23)],
  ["noise 64x64", randomImage(2, 64, 64)],
  ["structured 64x64", structuredImage(64, 64)],
  ["structured 300x200", structuredImage(300, 200)],
  ["noise 1x5", randomImage(3, 1, 5)],
];

const SIZES: [number, number][] = [
  [16, 11],
  [256, 256],
  [224, 224],
  [64, 41],
  [37, 50],
  [3, 2],
  [1, 1],
];

describe("pilResize equals Pillow's Image.resize byte for byte", () => {
  const jobs: [string, number, number, number, number, number, string][] = [];
  const cases: { label: string; image: RgbImage; size: [number, number]; filter: number; out: string }[] = [];
  for (const [i, [label, image]] of IMAGES.entries()) {
    const src = join(dir, `in-${i}.rgb`);
    writeFileSync(src, image.data);
    const sizes: [number, number][] = [
      ...SIZES,
      [image.width, image.height * 2],
      [Math.ceil(image.width / 3), image.height],
    ];
    for (const [j, size] of sizes.entries()) {
      for (let filter = 0; filter < RESAMPLE_FILTERS.length; filter++) {
        const out = join(dir, `out-${i}-${j}-${filter}.rgb`);
        jobs.push([src, image.width, image.height, size[0], size[1], filter, out]);
        cases.push({ label, image, size, filter, out });
      }
    }
  }
  const jobFile = join(dir, "jobs.json");
  writeFileSync(jobFile, JSON.stringify(jobs));
  const pil = run("/usr/bin/python3", ["-c", SCRIPT, jobFile]);

  it(`${cases.length} resizes`, async () => {
    await pil;
    const mismatches: string[] = [];
    for (const c of cases) {
      const want = new Uint8Array(readFileSync(c.out));
      const got = pilResize(c.image, c.size[0], c.size[1], RESAMPLE_FILTERS[c.filter]).data;
      let diff = 0;
      for (let k = 0; k < want.length; k++) if (want[k] !== got[k]) diff++;
      if (got.length !== want.length || diff) {
        mismatches.push(`${c.label} → ${c.size.join("x")} ${RESAMPLE_FILTERS[c.filter]}: ${diff} bytes differ`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 60_000);
});

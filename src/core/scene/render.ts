/**
 * EmojiBench ground truth in pure TypeScript, exactly as foundry/foundry/scene.py renders it: a
 * subject's straight-alpha RGBA sprite composited over a 64×64 background, float in [0,1], sprite
 * top-left at (cx − ⌊px/2⌋, cy − ⌊px/2⌋), clipped to the image. Images here are HWC float32 RGB.
 */
import type { RgbaImage } from "../generate/image";
import type { PairPrompt, SceneKit, ScenePrompt } from "../pack/manifest";

/** The slots a scene prompt fixes, and the kit table holding each slot's values. */
export const SCENE_SLOTS = ["background", "position", "size"] as const;
export type SceneSlot = (typeof SCENE_SLOTS)[number];

/** Decoded kit images: background name → 64×64 image, size name → sprite atlas. */
export interface SceneAssets {
  backgrounds: Record<string, RgbaImage>;
  atlases: Record<string, RgbaImage>;
}

/** Reads every image the kit names through `read` (pack-relative path → decoded RGBA). */
export async function loadSceneAssets(kit: SceneKit, read: (file: string) => Promise<RgbaImage>): Promise<SceneAssets> {
  const load = async (table: Record<string, string>) =>
    Object.fromEntries(await Promise.all(Object.entries(table).map(async ([k, f]) => [k, await read(f)] as const)));
  const atlasFiles = Object.fromEntries(Object.entries(kit.sprites).map(([k, s]) => [k, s.file]));
  return { backgrounds: await load(kit.backgrounds), atlases: await load(atlasFiles) };
}

/** An 8-bit RGBA image → HWC float RGB in [0,1] (alpha dropped: generated images are opaque). */
export function rgbaToHwc(img: RgbaImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = img.data[p * 4 + c] / 255;
  return out;
}

/** HWC float RGB in [0,1] → opaque 8-bit RGBA (rounded, clamped). */
export function hwcToRgba(hwc: Float32Array, size: number): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(hwc[p * 3 + c] * 255);
    data[p * 4 + 3] = 255;
  }
  return { width: size, height: size, data };
}

export class SceneRenderer {
  readonly size: number;
  private readonly index: Map<string, number>;

  constructor(
    readonly kit: SceneKit,
    private readonly assets: SceneAssets,
  ) {
    const sizes = Object.values(assets.backgrounds).map((b) => b.width);
    this.size = sizes[0] ?? 64;
    for (const [name, bg] of Object.entries(assets.backgrounds)) {
      if (bg.width !== this.size || bg.height !== this.size) {
        throw new Error(`scene background "${name}" is ${bg.width}×${bg.height}; expected ${this.size}×${this.size}`);
      }
    }
    for (const [name, s] of Object.entries(kit.sprites)) {
      const atlas = assets.atlases[name];
      const rows = Math.ceil(kit.subjects.length / s.columns);
      if (!atlas || atlas.width < s.columns * s.px || atlas.height < rows * s.px) {
        throw new Error(`sprite atlas "${s.file}" is too small for ${kit.subjects.length} subjects of ${s.px} px`);
      }
    }
    this.index = new Map(kit.subjects.map((id, i) => [id, i]));
  }

  /** Values of a slot in the kit (background, position and size names). */
  values(slot: SceneSlot): string[] {
    const table =
      slot === "background" ? this.kit.backgrounds : slot === "position" ? this.kit.positions : this.kit.sprites;
    return Object.keys(table);
  }

  has(subject: string): boolean {
    return this.index.has(subject);
  }

  private subjectIndex(subject: string): number {
    const i = this.index.get(subject);
    if (i === undefined) throw new Error(`the scene kit has no sprite for subject "${subject}"`);
    return i;
  }

  private entry<T>(table: Record<string, T>, slot: SceneSlot, prompt: ScenePrompt): T {
    const value = prompt[slot];
    const found = value === undefined ? undefined : table[value];
    if (found === undefined) {
      throw new Error(`scene prompt ${JSON.stringify(prompt)}: ${slot} ${JSON.stringify(value)} is not in the kit`);
    }
    return found;
  }

  /** The subject's px×px sprite as straight-alpha RGBA floats in [0,1]. */
  sprite(subject: string, size: string): { px: number; rgba: Float32Array } {
    const spec = this.entry(this.kit.sprites, "size", { size });
    const atlas = this.assets.atlases[size];
    const i = this.subjectIndex(subject);
    const { px, columns } = spec;
    const x0 = (i % columns) * px;
    const y0 = Math.floor(i / columns) * px;
    const rgba = new Float32Array(px * px * 4);
    for (let y = 0; y < px; y++) {
      for (let x = 0; x < px; x++) {
        const src = ((y0 + y) * atlas.width + x0 + x) * 4;
        for (let c = 0; c < 4; c++) rgba[(y * px + x) * 4 + c] = atlas.data[src + c] / 255;
      }
    }
    return { px, rgba };
  }

  /** `composite` of scene.py: `out = sprite·a + bg·(1 − a)` over the clipped sprite rectangle. */
  private composite(
    bg: Float32Array,
    sprite: { px: number; rgba: Float32Array },
    cx: number,
    cy: number,
  ): Float32Array {
    const n = this.size;
    const { px, rgba } = sprite;
    const out = bg.slice();
    const x0 = cx - Math.floor(px / 2);
    const y0 = cy - Math.floor(px / 2);
    for (let y = Math.max(0, y0); y < Math.min(n, y0 + px); y++) {
      for (let x = Math.max(0, x0); x < Math.min(n, x0 + px); x++) {
        const s = ((y - y0) * px + (x - x0)) * 4;
        const a = rgba[s + 3];
        const o = (y * n + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = rgba[s + c] * a + out[o + c] * (1 - a);
      }
    }
    return out;
  }

  /** The ground-truth scene of a subject for a fully specified prompt, HWC float RGB in [0,1]. */
  render(subject: string, prompt: ScenePrompt): Float32Array {
    const bg = rgbaToHwc(this.entry(this.assets.backgrounds, "background", prompt));
    const [cx, cy] = this.entry(this.kit.positions, "position", prompt);
    this.entry(this.kit.sprites, "size", prompt);
    return this.composite(bg, this.sprite(subject, prompt.size), cx, cy);
  }

  /** Per-pixel coverage of the subject in that scene (`subject_alpha` of scene.py), H×W. */
  subjectAlpha(subject: string, prompt: ScenePrompt): Float32Array {
    const [cx, cy] = this.entry(this.kit.positions, "position", prompt);
    this.entry(this.kit.sprites, "size", prompt);
    const { px, rgba } = this.sprite(subject, prompt.size);
    const white = rgba.slice();
    for (let p = 0; p < px * px; p++) white.fill(1, p * 4, p * 4 + 3);
    const rgb = this.composite(new Float32Array(this.size * this.size * 3), { px, rgba: white }, cx, cy);
    const alpha = new Float32Array(this.size * this.size);
    for (let p = 0; p < alpha.length; p++) alpha[p] = rgb[p * 3];
    return alpha;
  }

  /** A's and B's single-subject prompts in a two-subject scene: the layout's two positions. */
  pairPrompts(prompt: PairPrompt): [ScenePrompt, ScenePrompt] {
    const positions = this.kit.pairs?.layouts[prompt.layout];
    if (!positions) {
      throw new Error(
        `scene pair prompt ${JSON.stringify(prompt)}: layout ${JSON.stringify(prompt.layout)} is not in the kit`,
      );
    }
    const [a, b] = positions.map((position) => ({ background: prompt.background, position, size: prompt.size }));
    return [a, b];
  }

  /** The ground truth of a two-subject scene (`render_pair` of scene.py): A, then B drawn over it. */
  renderPair(a: string, b: string, prompt: PairPrompt): Float32Array {
    const [pa, pb] = this.pairPrompts(prompt);
    const [cx, cy] = this.entry(this.kit.positions, "position", pb);
    return this.composite(this.render(a, pa), this.sprite(b, prompt.size), cx, cy);
  }

  /** Each subject's visible coverage in a two-subject scene, H×W: A's alpha where B leaves it, then B's. */
  pairMasks(a: string, b: string, prompt: PairPrompt): [Float32Array, Float32Array] {
    const [pa, pb] = this.pairPrompts(prompt);
    const alphaB = this.subjectAlpha(b, pb);
    const alphaA = this.subjectAlpha(a, pa).map((v, p) => v * (1 - alphaB[p]));
    return [alphaA, alphaB];
  }
}

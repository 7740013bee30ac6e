/** Generate-tab settings: defaults from the pack manifest, labels, file names. Pure, no React; shared by stores and components. */
import { describePrompt, type GenerateSettings } from "../core/generate";
import { samplerDefaults } from "../core/generate/sampler-defaults";
import type { Manifest } from "../core/pack";

/** Which reference a run used: a gallery subject (by id) or an uploaded file (by name). */
export type ReferenceChoice = { kind: "gallery"; id: string; label: string } | { kind: "upload"; label: string };

/** Everything that determines a run's images, so a card can show and repeat it. */
export interface RunSettings extends GenerateSettings {
  packId: string;
  reference: ReferenceChoice;
  /** Subject B of a two-subject scene (packs whose denoiser takes two references). */
  second?: ReferenceChoice;
  /** An AdapterChoice id (stores/adapters.ts): "base", "run:<id>" or "import:<id>". */
  adapter: string;
  /** The adapter's label as listed when the run started. */
  adapterLabel?: string;
}

/** Sampler settings from manifest.scheduler.defaults; every prompt slot "any"; batch 1. */
export function defaultSettings(manifest: Manifest): GenerateSettings {
  return {
    prompt: Object.fromEntries(manifest.prompt.slots.map((s) => [s.name, "any"])),
    seed: 0,
    batch: 1,
    ...samplerDefaults(manifest),
  };
}

/** The first held-out subject, else the first train subject. */
export function defaultSubject(manifest: Manifest): ReferenceChoice | undefined {
  const e = manifest.gallery?.heldout[0] ?? manifest.gallery?.train[0];
  return e && { kind: "gallery", id: e.id, label: e.name };
}

/** Seed of image `index` in a batch: image b of seed s equals a single run with seed s + b. */
export function imageSeed(s: RunSettings, index: number): number {
  return s.seed + index;
}

/** One line per setting, in the order a researcher reads them. */
export function describeRun(manifest: Manifest, s: RunSettings): [string, string][] {
  return [
    ["reference", s.reference.kind === "gallery" ? `${s.reference.label} (${s.reference.id})` : s.reference.label],
    ...(s.second
      ? [
          ["subject B", s.second.kind === "gallery" ? `${s.second.label} (${s.second.id})` : s.second.label] as [
            string,
            string,
          ],
        ]
      : []),
    ["prompt", describePrompt(manifest.prompt, s.prompt)],
    ["seed", s.batch > 1 ? `${s.seed}–${s.seed + s.batch - 1}` : String(s.seed)],
    ["sampler", `${s.sampler}, ${s.steps} steps`],
    ["guidance", `image ${s.guidanceImage}, prompt ${s.guidancePrompt}`],
    ["ip scale", String(s.ipScale)],
    ["adapter", s.adapterLabel ?? s.adapter],
    ["pack", s.packId],
  ];
}

/** A file name that says what the image is: pack, subject, seed, sampler, steps. */
export function pngName(s: RunSettings, index: number): string {
  const subject = s.reference.kind === "gallery" ? s.reference.id : s.reference.label.replace(/\.[^.]*$/, "");
  const safe = `${s.packId}-${subject}-${s.adapter}-seed${imageSeed(s, index)}-${s.sampler}${s.steps}`;
  return `${safe.replace(/[^A-Za-z0-9._-]+/g, "_")}.png`;
}

/** A new random seed (uint32). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

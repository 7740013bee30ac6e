/** The sampler settings a pack recommends (manifest `scheduler.defaults`), with the studio's fallbacks. */
import type { Manifest } from "../pack";
import type { GenerateSettings } from "./pipeline";

export type SamplerDefaults = Pick<
  GenerateSettings,
  "steps" | "sampler" | "guidanceImage" | "guidancePrompt" | "ipScale"
>;

/** A number, or a string holding one; anything else (missing, "x") gives the fallback. */
function num(v: number | string | undefined, fallback: number): number {
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/** `scheduler.defaults` is free-form in the manifest: unknown samplers read as DDIM, bad numbers as the fallbacks. */
export function samplerDefaults(manifest: Manifest): SamplerDefaults {
  const d = manifest.scheduler.defaults;
  return {
    steps: num(d.steps, 25),
    sampler: d.sampler === "euler" ? "euler" : "ddim",
    guidanceImage: num(d.guidance_image, 3),
    guidancePrompt: num(d.guidance_prompt, 2),
    ipScale: num(d.ip_scale, 1),
  };
}

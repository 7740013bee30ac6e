import { describe, expect, it } from "vitest";
import { readManifest } from "../../node/packs";
import {
  defaultSettings,
  defaultSubject,
  describeRun,
  imageSeed,
  pngName,
  type RunSettings,
} from "./generate-settings";

const manifest = readManifest("tiny");

function run(patch: Partial<RunSettings> = {}): RunSettings {
  return {
    ...defaultSettings(manifest),
    packId: "tiny",
    reference: { kind: "gallery", id: "1f30a", label: "water wave" },
    adapter: "base",
    ...patch,
  };
}

describe("Generate settings", () => {
  it("take sampler defaults from the manifest and start every prompt slot at any", () => {
    const d = manifest.scheduler.defaults;
    const s = defaultSettings(manifest);
    expect(s).toMatchObject({
      steps: d.steps,
      sampler: d.sampler,
      guidanceImage: d.guidance_image,
      ipScale: d.ip_scale,
    });
    expect(s.guidancePrompt).toBe(d.guidance_prompt);
    expect(s.prompt).toEqual({ background: "any", position: "any", size: "any" });
  });

  it("fall back when a default is missing or not a number, and accept euler", () => {
    const m = { ...manifest, scheduler: { ...manifest.scheduler, defaults: { sampler: "euler", steps: "x" } } };
    expect(defaultSettings(m)).toMatchObject({ sampler: "euler", steps: 25, guidanceImage: 3, guidancePrompt: 2 });
  });

  it("start on the first held-out subject", () => {
    const first = manifest.gallery?.heldout[0];
    expect(defaultSubject(manifest)).toEqual({ kind: "gallery", id: first?.id, label: first?.name });
    expect(defaultSubject({ ...manifest, gallery: undefined })).toBeUndefined();
  });

  it("describe a batch with its seed range and the full prompt", () => {
    const lines = Object.fromEntries(describeRun(manifest, run({ seed: 7, batch: 3, prompt: { background: "red" } })));
    expect(lines.seed).toBe("7–9");
    expect(lines.prompt).toBe("background red, position any, size any");
    expect(lines.reference).toBe("water wave (1f30a)");
    expect(lines.sampler).toBe("ddim, 25 steps");
    expect(imageSeed(run({ seed: 7 }), 2)).toBe(9);
  });

  it("name PNGs after pack, subject, adapter, seed and sampler, safe for file systems", () => {
    expect(pngName(run({ seed: 5 }), 1)).toBe("tiny-1f30a-base-seed6-ddim25.png");
    const upload = run({ reference: { kind: "upload", label: "my cat (1).jpeg" } });
    expect(pngName(upload, 0)).toBe("tiny-my_cat_1_-base-seed0-ddim25.png");
  });
});

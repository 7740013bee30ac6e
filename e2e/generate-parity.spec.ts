/**
 * Parity in Chromium on WebGPU: the inference worker's generation pipeline (ORT-web WebGPU EP,
 * SwiftShader here) driven from the foundry's fixed initial noise, references and prompts
 * (tests/fixtures/sampler-tiny.safetensors, served to the page) reproduces the foundry's PyTorch
 * DDIM and Euler outputs. Tolerance: max |Δ| ≤ 2e-3 × max |want|, as for WASM in Node
 * (tests/sampling-parity.test.ts); WebGPU and WASM agree to ~1e-6 on these graphs.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import type {} from "../src/app/services/devtools"; // window.patchdpo's type
import { relError } from "../src/core/engine/testing/tiny";
import { parseSafetensors } from "../src/core/safetensors";
import { expectLoaded, onnxBackend } from "./helpers";

const FIXTURE = "tests/fixtures/sampler-tiny.safetensors";
const TOLERANCE = 2e-3;

/** "background blue, position any, size large" → { background: "blue", position: "any", size: "large" }. */
function parsePrompt(text: string): Record<string, string> {
  return Object.fromEntries(text.split(", ").map((part) => part.split(" ", 2) as [string, string]));
}

test("the pipeline on WebGPU reproduces the foundry sampler from fixed noise (DDIM and Euler)", async ({
  page,
  context,
}) => {
  await onnxBackend(context, "webgpu");
  await context.route("**/__fixtures/sampler-tiny.safetensors", (route) =>
    route.fulfill({ body: readFileSync(FIXTURE), contentType: "application/octet-stream" }),
  );
  await page.goto("/?pack=tiny");
  await expectLoaded(page, "tiny");
  await expect(page.locator('[data-pack-id="tiny"]')).toContainText("Loaded on WebGPU");

  // The page fetches the fixture; Node parses the same bytes for the inputs and the goldens.
  const served = await page.evaluate(async () =>
    Array.from(new Uint8Array(await (await fetch("/__fixtures/sampler-tiny.safetensors")).arrayBuffer())),
  );
  const bytes = Uint8Array.from(served);
  const { tensors, metadata } = parseSafetensors(bytes, FIXTURE);
  const get = (name: string) => tensors.get(name)?.data as Float32Array;
  const settings = JSON.parse(metadata.settings);
  const prompts: string[] = JSON.parse(metadata.prompts);
  const errors: string[] = [];
  const perLatent = 4 * 16 * 16;
  const perImage = 3 * 64 * 64;

  for (const [sampler, golden] of [
    ["ddim", "latent"],
    ["euler", "latent_euler"],
  ] as const) {
    for (let b = 0; b < prompts.length; b++) {
      const out = await page.evaluate(
        async (req) => {
          const studio = window.patchdpo;
          if (!studio) throw new Error("window.patchdpo is missing");
          const result = await studio.inference.call((api) =>
            api.generate(
              `parity-${req.sampler}-${req.b}`,
              {
                packId: "tiny",
                reference: { kind: "tensor", data: Float32Array.from(req.reference) },
                adapter: { kind: "base" },
                noise: Float32Array.from(req.noise),
                settings: {
                  prompt: req.prompt,
                  seed: 0,
                  batch: 1,
                  steps: req.steps,
                  sampler: req.sampler,
                  guidanceImage: req.guidanceImage,
                  guidancePrompt: req.guidancePrompt,
                  ipScale: req.ipScale,
                },
              },
              studio.callback(() => {}),
            ),
          );
          return { latents: Array.from(result.latents), decoded: Array.from(result.decoded) };
        },
        {
          b,
          sampler,
          prompt: parsePrompt(prompts[b]),
          reference: Array.from(get("reference").subarray(b * perImage, (b + 1) * perImage)),
          noise: Array.from(get("noise").subarray(b * perLatent, (b + 1) * perLatent)),
          steps: settings.steps,
          guidanceImage: settings.guidance_image,
          guidancePrompt: settings.guidance_prompt,
          ipScale: settings.ip_scale,
        },
      );
      const latentErr = relError(out.latents as number[], get(golden).subarray(b * perLatent, (b + 1) * perLatent));
      errors.push(`${sampler}[${b}] latent ${latentErr.toExponential(1)}`);
      expect(latentErr, `${sampler} latent, item ${b}`).toBeLessThan(TOLERANCE);
      if (sampler === "ddim") {
        const imageErr = relError(out.decoded as number[], get("image").subarray(b * perImage, (b + 1) * perImage));
        errors.push(`ddim[${b}] image ${imageErr.toExponential(1)}`);
        expect(imageErr, `ddim image, item ${b}`).toBeLessThan(TOLERANCE);
      }
    }
  }
  test.info().annotations.push({ type: "relative error", description: errors.join(", ") });
  console.log(`WebGPU parity (relative max error): ${errors.join(", ")}`);
});

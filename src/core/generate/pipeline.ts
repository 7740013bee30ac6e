/**
 * Personalized generation: reference → image tokens (once per reference) → guided sampler over
 * the denoiser → VAE decoder. Sessions are reached through `RunRole`, so the same code runs in
 * the inference worker (onnxruntime-web) and in Node tests and benchmarks.
 */
import { feed } from "../pack/feeds";
import { type Manifest, type RoleName, requireRole, roleInput, roleOutput } from "../pack/manifest";
import { latentNoise } from "../sampling/rng";
import { type DenoiseFn, sample } from "../sampling/samplers";
import { assertFinite } from "./image";
import { encodePrompt, type PromptChoice } from "./prompt";

export interface TensorData {
  dtype: "float32" | "int64";
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export type RunRole = (role: RoleName, feeds: Record<string, TensorData>) => Promise<Record<string, TensorData>>;

/** Adapter tensors by manifest name (the base values come from the denoiser's weights file). */
export type AdapterTensors = ReadonlyMap<string, Float32Array>;

export interface GenerateSettings {
  prompt: PromptChoice;
  seed: number;
  batch: number;
  steps: number;
  sampler: "ddim" | "euler";
  guidanceImage: number;
  guidancePrompt: number;
  ipScale: number;
}

export interface GenerateRequest {
  run: RunRole;
  manifest: Manifest;
  /** Image tokens of one reference, [1, T, D] flattened (see encodeReference). */
  imageTokens: Float32Array;
  adapter: AdapterTensors;
  settings: GenerateSettings;
  /** Fixed initial noise z_T (batch × latent size) instead of the seed's; for parity checks and shared-noise comparisons. */
  noise?: Float32Array;
  signal?: AbortSignal;
  /** After each step; `previewLatent` is image 0's predicted clean latent (scaled space). */
  onStep?: (step: number, total: number, previewLatent: Float32Array) => void;
}

export interface GenerateResult {
  /** Final latents [batch, C, H, W] in the denoiser's (scaled) space. */
  latents: Float32Array;
  /** Decoded images [batch, 3, size, size] in manifest.image.range. */
  images: Float32Array;
}

function f32(t: TensorData | undefined, what: string): Float32Array {
  if (t?.dtype !== "float32") throw new Error(`${what}: expected a float32 output`);
  return t.data as Float32Array;
}

export function checkSettings(manifest: Manifest, s: GenerateSettings): void {
  const bad = (msg: string) => {
    throw new Error(`generation settings: ${msg}`);
  };
  if (!Number.isInteger(s.batch) || s.batch < 1 || s.batch > 16) bad(`batch must be 1–16, got ${s.batch}`);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff)
    bad(`seed must be an integer from 0 to 4294967295`);
  if (!Number.isInteger(s.steps) || s.steps < 1 || s.steps > manifest.scheduler.num_train_timesteps)
    bad(`steps must be 1–${manifest.scheduler.num_train_timesteps}`);
  for (const [k, v] of [
    ["image guidance", s.guidanceImage],
    ["prompt guidance", s.guidancePrompt],
    ["ip scale", s.ipScale],
  ] as const) {
    if (!Number.isFinite(v) || v < 0 || v > 20) bad(`${k} must be between 0 and 20, got ${v}`);
  }
}

/** Reference image tensor [3, size, size] → image tokens [1, T, D]. */
export async function encodeReference(
  run: RunRole,
  manifest: Manifest,
  reference: Float32Array,
): Promise<Float32Array> {
  const image = roleInput(manifest, "image_encoder", "image");
  const out = await run("image_encoder", { [image.name]: feed(image, 1, reference) });
  const tokens = f32(out[roleOutput(manifest, "image_encoder", "image_tokens").name], "image_encoder");
  assertFinite(tokens, "image_encoder output");
  return tokens;
}

/** Denoiser call with the adapter tensors and ip_scale bound. */
export function bindDenoiser(run: RunRole, manifest: Manifest, adapter: AdapterTensors, ipScale: number): DenoiseFn {
  const spec = requireRole(manifest, "denoiser").adapter;
  const fixed: Record<string, TensorData> = {
    [spec.scale_input]: { dtype: "float32", dims: [1], data: new Float32Array([ipScale]) },
  };
  for (const t of spec.tensors) {
    const values = adapter.get(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!values || values.length !== count)
      throw new Error(`adapter tensor ${t.name} is missing or has the wrong size`);
    fixed[t.name] = { dtype: "float32", dims: t.shape, data: values };
  }
  const latentIn = roleInput(manifest, "denoiser", "latent");
  const timestepIn = roleInput(manifest, "denoiser", "timestep");
  const promptIn = roleInput(manifest, "denoiser", "prompt_ids");
  const tokensIn = roleInput(manifest, "denoiser", "image_tokens");
  const eps = roleOutput(manifest, "denoiser", "eps").name;
  return async ({ latent, timestep, promptIds, imageTokens, batch }) => {
    const out = await run("denoiser", {
      [latentIn.name]: feed(latentIn, batch, latent),
      [timestepIn.name]: feed(timestepIn, batch, timestep),
      [promptIn.name]: feed(promptIn, batch, promptIds),
      [tokensIn.name]: feed(tokensIn, batch, imageTokens),
      ...fixed,
    });
    return f32(out[eps], "denoiser");
  };
}

export async function decodeLatents(
  run: RunRole,
  manifest: Manifest,
  latents: Float32Array,
  batch: number,
): Promise<Float32Array> {
  const latent = roleInput(manifest, "vae_decoder", "latent");
  const unscaled = Float32Array.from(latents, (v) => v / manifest.latent.scale_factor);
  const out = await run("vae_decoder", { [latent.name]: feed(latent, batch, unscaled) });
  return f32(out[roleOutput(manifest, "vae_decoder", "image").name], "vae_decoder");
}

export async function generate(req: GenerateRequest): Promise<GenerateResult> {
  const { run, manifest, settings: s } = req;
  checkSettings(manifest, s);
  if (
    req.noise &&
    req.noise.length !== s.batch * manifest.latent.channels * manifest.latent.height * manifest.latent.width
  )
    throw new Error(`initial noise has ${req.noise.length} values; expected batch × latent size`);
  const ids = encodePrompt(manifest.prompt, s.prompt);
  const { channels, height, width } = manifest.latent;
  const perImage = channels * height * width;
  const promptIds = new BigInt64Array(s.batch * ids.length);
  const imageTokens = new Float32Array(s.batch * req.imageTokens.length);
  for (let b = 0; b < s.batch; b++) {
    promptIds.set(ids, b * ids.length);
    imageTokens.set(req.imageTokens, b * req.imageTokens.length);
  }
  const latents = await sample({
    denoise: bindDenoiser(run, manifest, req.adapter, s.ipScale),
    scheduler: manifest.scheduler,
    sampler: s.sampler,
    steps: s.steps,
    guidanceImage: s.guidanceImage,
    guidancePrompt: s.guidancePrompt,
    noise: req.noise ?? latentNoise(s.seed, s.batch, perImage),
    batch: s.batch,
    promptIds,
    nullId: manifest.prompt.null_id,
    imageTokens,
    signal: req.signal,
    onStep: (i, n, clean) => req.onStep?.(i, n, clean.subarray(0, perImage)),
  });
  assertFinite(latents, "sampled latent");
  req.signal?.throwIfAborted();
  const images = await decodeLatents(run, manifest, latents, s.batch);
  assertFinite(images, "decoded image");
  return { latents, images };
}

/**
 * DDIM (η = 0) and Euler samplers with separate image and prompt guidance. They match
 * foundry/foundry/schedule.py on fixed noise (tests/sampling-parity.test.ts).
 */
import { alphasCumprod, type SchedulerSpec, samplerTimesteps } from "./schedule";

/** One denoiser evaluation on a batch (the caller binds adapter tensors and ip_scale). */
export type DenoiseFn = (inputs: {
  latent: Float32Array;
  timestep: Float32Array;
  promptIds: BigInt64Array;
  imageTokens: Float32Array;
  batch: number;
}) => Promise<Float32Array>;

export interface SampleRequest {
  denoise: DenoiseFn;
  scheduler: SchedulerSpec;
  sampler: "ddim" | "euler";
  steps: number;
  guidanceImage: number;
  guidancePrompt: number;
  /** Initial noise z_T, batch × latentSize values. */
  noise: Float32Array;
  batch: number;
  /** batch × promptLength ids; unconditional is all `nullId`. */
  promptIds: BigInt64Array;
  nullId: number;
  /** batch × tokens × dim; unconditional is all zeros. */
  imageTokens: Float32Array;
  /** Called after each step with the current predicted clean latent. */
  onStep?: (step: number, total: number, predictedClean: Float32Array) => void;
  /** Checked between steps. */
  signal?: AbortSignal;
}

/** ε = ε(∅,∅) + g_img·(ε(img,∅) − ε(∅,∅)) + g_prompt·(ε(img,p) − ε(img,∅)), in one batched call. */
export async function guidedEps(req: SampleRequest, z: Float32Array, t: number): Promise<Float32Array> {
  const { batch, promptIds, imageTokens, guidanceImage: gi, guidancePrompt: gp } = req;
  const n = z.length;
  const latent = new Float32Array(3 * n);
  for (let k = 0; k < 3; k++) latent.set(z, k * n);
  const ids = new BigInt64Array(3 * promptIds.length).fill(BigInt(req.nullId));
  ids.set(promptIds, 2 * promptIds.length);
  const tokens = new Float32Array(3 * imageTokens.length);
  tokens.set(imageTokens, imageTokens.length);
  tokens.set(imageTokens, 2 * imageTokens.length);
  const eps = await req.denoise({
    latent,
    timestep: new Float32Array(3 * batch).fill(t),
    promptIds: ids,
    imageTokens: tokens,
    batch: 3 * batch,
  });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const uu = eps[i];
    const iu = eps[n + i];
    const ip = eps[2 * n + i];
    out[i] = uu + gi * (iu - uu) + gp * (ip - iu);
  }
  return out;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DOMException("Generation cancelled", "AbortError");
}

/** Runs the sampler from `noise` to the final clean latent z_0. */
export async function sample(req: SampleRequest): Promise<Float32Array> {
  const acp = alphasCumprod(req.scheduler);
  const ts = samplerTimesteps(req.scheduler, req.steps);
  return req.sampler === "ddim" ? ddim(req, acp, ts) : euler(req, acp, ts);
}

async function ddim(req: SampleRequest, acp: Float64Array, ts: number[]): Promise<Float32Array> {
  let z = Float32Array.from(req.noise);
  for (let i = 0; i < ts.length; i++) {
    throwIfAborted(req.signal);
    const eps = await guidedEps(req, z, ts[i]);
    const aT = Math.fround(acp[ts[i]]);
    const aPrev = i + 1 < ts.length ? Math.fround(acp[ts[i + 1]]) : 1;
    const x0 = new Float32Array(z.length);
    const next = new Float32Array(z.length);
    for (let j = 0; j < z.length; j++) {
      x0[j] = (z[j] - Math.sqrt(1 - aT) * eps[j]) / Math.sqrt(aT);
      next[j] = Math.sqrt(aPrev) * x0[j] + Math.sqrt(1 - aPrev) * eps[j];
    }
    z = next;
    req.onStep?.(i + 1, ts.length, x0);
  }
  return z;
}

async function euler(req: SampleRequest, acp: Float64Array, ts: number[]): Promise<Float32Array> {
  const sigmas = [...ts.map((t) => Math.sqrt((1 - acp[t]) / acp[t])), 0];
  const x = Float32Array.from(req.noise, (v) => v * Math.sqrt(1 + sigmas[0] ** 2));
  for (let i = 0; i < ts.length; i++) {
    throwIfAborted(req.signal);
    const scale = Math.sqrt(1 + sigmas[i] ** 2);
    const z = Float32Array.from(x, (v) => v / scale);
    const eps = await guidedEps(req, z, ts[i]);
    const x0 = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      x0[j] = x[j] - sigmas[i] * eps[j]; // in σ-space x = z_0 + σ·ε
      x[j] += (sigmas[i + 1] - sigmas[i]) * eps[j];
    }
    req.onStep?.(i + 1, ts.length, x0);
  }
  return x;
}

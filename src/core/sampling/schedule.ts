/** The DDPM noise schedule and sampler timesteps, as the pack manifest's `scheduler` states them. */

export interface SchedulerSpec {
  num_train_timesteps: number;
  beta_schedule: "linear" | "scaled_linear";
  beta_start: number;
  beta_end: number;
}

/** ᾱ_t = Π_{s≤t} (1 − β_s), in float64 like the foundry. */
export function alphasCumprod(spec: SchedulerSpec): Float64Array {
  const T = spec.num_train_timesteps;
  const out = new Float64Array(T);
  let acc = 1;
  for (let t = 0; t < T; t++) {
    const frac = T === 1 ? 0 : t / (T - 1);
    const beta =
      spec.beta_schedule === "linear"
        ? spec.beta_start + frac * (spec.beta_end - spec.beta_start)
        : (Math.sqrt(spec.beta_start) + frac * (Math.sqrt(spec.beta_end) - Math.sqrt(spec.beta_start))) ** 2;
    acc *= 1 - beta;
    out[t] = acc;
  }
  return out;
}

/** "Trailing" spacing: t_i = round(T − i·T/N) − 1, so the first step starts at T − 1. */
export function samplerTimesteps(spec: SchedulerSpec, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > spec.num_train_timesteps) {
    throw new Error(`steps must be an integer from 1 to ${spec.num_train_timesteps}, got ${steps}`);
  }
  const T = spec.num_train_timesteps;
  return Array.from({ length: steps }, (_, i) => Math.round(T - (i * T) / steps) - 1);
}

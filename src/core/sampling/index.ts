export { gaussian, latentNoise, uint32Stream } from "./rng";
export { type DenoiseFn, guidedEps, type SampleRequest, sample } from "./samplers";
export { alphasCumprod, type SchedulerSpec, samplerTimesteps } from "./schedule";

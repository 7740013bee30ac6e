export { patchQualityCpu } from "./cpu.ts";
export { type Grid, type PatchQualityMaps, patchPosition, patchQualityMaps, type RefWeightMode } from "./maps.ts";
export { type QualitySummary, summarizeQuality } from "./summary.ts";
export { checkQualityShape, type QualityResult, type QualityShape, ZERO_NORM_SQUARED } from "./types.ts";

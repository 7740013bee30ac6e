/** Types of the inference worker's patch-quality requests (Inspect tab), shared with the app. */
import type { RgbaImage } from "../src/core/generate/image";
import type { EncoderSpec, UserEncoderSpec } from "../src/core/quality/encoder-spec";
import type { PatchQualityMaps, RefWeightMode } from "../src/core/quality/maps";

/** Which patch encoder to use: a loaded pack's, or a user encoder loaded with loadUserEncoder. */
export type EncoderRef =
  | { kind: "pack"; packId: string; spec: EncoderSpec; background: [number, number, number] }
  | { kind: "user"; id: string };

export interface QualityRequest {
  encoder: EncoderRef;
  reference: RgbaImage;
  generated: RgbaImage;
  refWeight?: RefWeightMode;
}

export interface QualityResponse {
  maps: PatchQualityMaps;
  /** Where the quality kernel ran: the WGSL kernel, or the CPU reference (with the reason). */
  backend: "webgpu" | "cpu";
  backendNote?: string;
  /** Where the kernel read the features: ORT's GPU output in place, or typed arrays from the CPU. */
  features: "gpu-buffer" | "cpu";
  encoderLabel: string;
  encoderMs: number;
  qualityMs: number;
  /**
   * The images as the encoder saw them, when its spec has processor steps (resize, center crop):
   * the patch grid covers these, not the whole uploaded image.
   */
  seen?: { reference: RgbaImage; generated: RgbaImage };
}

export interface UserEncoderInfo {
  id: string;
  spec: UserEncoderSpec;
  inputNames: string[];
  outputNames: string[];
  /** Set for an enhanced encoder (Train tab, Encoder): its run, step and S_patch before and after. */
  enhanced?: EnhancedEncoderInfo;
  /** Set for an encoder from the registry (Models tab): which one, and which ONNX export runs. */
  registered?: { id: string; title: string; file: string; provider: "webgpu" | "wasm"; notes: string[] };
}

export interface EnhancedEncoderInfo {
  /** The enhancement run's id. */
  id: string;
  label: string;
  packId: string;
  step: number;
  /** S_patch (top-1) on the run's held-out pairs before training and at its checkpoint. */
  sPatchBefore?: number;
  sPatch?: number;
}

/**
 * Patch quality in the inference worker: patch features of both images from a patch encoder
 * (the pack's or a user's ONNX), then the WGSL quality kernel when WebGPU works here, else the
 * CPU reference. When the encoder runs on ORT's WebGPU EP its output stays on the GPU and the
 * kernel binds it in place, on ORT's own device; otherwise features travel as typed arrays.
 */

import * as ort from "onnxruntime-web";
import { float16Data } from "../src/core/encoders/float16";
import { encoderInputAndImage } from "../src/core/encoders/preprocess";
import { onnxLoadError } from "../src/core/onnx-load-error";
import { patchQualityCpu } from "../src/core/quality/cpu";
import {
  checkOutputDims,
  type EncoderSpec,
  EncoderSpecError,
  patchFeatures,
  type UserEncoderSpec,
} from "../src/core/quality/encoder-spec";
import { patchQualityMaps } from "../src/core/quality/maps";
import type { QualityResult, QualityShape } from "../src/core/quality/types";
import { GpuContext } from "../src/gpu/context";
import { patchQualityGpu } from "../src/gpu/kernels/quality";
import type { ExecutionProvider } from "./inference-api";
import { createSession, releaseSession, runOrt } from "./ort-sessions";
import type { EncoderRef, QualityRequest, QualityResponse, UserEncoderInfo } from "./quality-api";

export interface Encoder {
  session: ort.InferenceSession;
  spec: EncoderSpec;
  background: [number, number, number];
  label: string;
}

/** Patch features of one image: on the CPU, or ORT's GPU output tensor bound in place. */
type Features = { data: Float32Array } | { tensor: ort.Tensor; binding: GPUBufferBinding };

/** User encoders have no pack background; references are subjects on white. */
const WHITE: [number, number, number] = [255, 255, 255];

export class QualityService {
  private readonly users = new Map<string, Encoder>();
  private gpu?: Promise<GpuContext>;
  private ortGpu?: GpuContext;
  private gpuFailure?: string;
  private nextId = 1;

  /** `packEncoder(packId)` gives a loaded pack's patch_encoder session. */
  constructor(private readonly packEncoder: (packId: string) => ort.InferenceSession | undefined) {}

  /** Creates a session for a user encoder and checks that its input and output names exist. */
  async loadUserEncoder(
    spec: UserEncoderSpec,
    model: Uint8Array,
    provider: ExecutionProvider,
  ): Promise<UserEncoderInfo> {
    let session: ort.InferenceSession;
    try {
      session = await createSession(model, provider);
    } catch (e) {
      throw new EncoderSpecError(onnxLoadError(spec.file, e));
    }
    const problems: string[] = [];
    if (!session.inputNames.includes(spec.input))
      problems.push(`input "${spec.input}" not among [${session.inputNames.join(", ")}]`);
    if (!session.outputNames.includes(spec.output))
      problems.push(`output "${spec.output}" not among [${session.outputNames.join(", ")}]`);
    if (!problems.length) problems.push(...(await this.probeOutput(session, spec)));
    if (problems.length) {
      await releaseSession(session);
      throw new EncoderSpecError(`${spec.file}: ${problems.join("; ")}`);
    }
    const id = `user-${this.nextId++}`;
    this.users.set(id, { session, spec, background: WHITE, label: spec.file });
    return { id, spec, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
  }

  /**
   * Runs the model once on a blank image of the spec's size, so a description that does not fit
   * its real output is refused at load (saying what would fit) rather than when maps are computed.
   */
  private async probeOutput(session: ort.InferenceSession, spec: UserEncoderSpec): Promise<string[]> {
    const side = spec.image_size;
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await runOrt(session, {
        [spec.input]: { dtype: "float32", dims: [1, 3, side, side], data: new Float32Array(3 * side * side) },
      });
    } catch (e) {
      return [`a [1, 3, ${side}, ${side}] input does not run: ${e instanceof Error ? e.message : String(e)}`];
    }
    for (const t of Object.values(out)) if (t.location === "gpu-buffer") t.dispose();
    try {
      checkOutputDims(out[spec.output].dims, spec);
      return [];
    } catch (e) {
      return [(e as Error).message];
    }
  }

  /**
   * Adds (or replaces, releasing the old session) an encoder opened elsewhere under a fixed id;
   * without a background, references are taken to be on white.
   */
  async addEncoder(id: string, encoder: Omit<Encoder, "background"> & { background?: Encoder["background"] }) {
    const previous = this.users.get(id);
    this.users.set(id, { background: WHITE, ...encoder });
    if (previous && previous.session !== encoder.session) await releaseSession(previous.session);
  }

  /** Drops an encoder added with addEncoder, releasing its session. */
  async removeEncoder(id: string): Promise<void> {
    const previous = this.users.get(id);
    this.users.delete(id);
    if (previous) await releaseSession(previous.session);
  }

  /** A loaded user encoder's session and spec (the Compare tab's global-similarity evaluators). */
  userEncoder(id: string): Encoder {
    return this.encoder({ kind: "user", id });
  }

  async computeQuality(request: QualityRequest): Promise<QualityResponse> {
    const encoder = this.encoder(request.encoder);
    const t0 = performance.now();
    const genInput = encoderInputAndImage(encoder.spec, request.generated, encoder.background, "generated image");
    const refInput = encoderInputAndImage(encoder.spec, request.reference, encoder.background, "reference image");
    const gen = await this.features(encoder, genInput.pixels);
    let ref: Features | undefined;
    try {
      ref = await this.features(encoder, refInput.pixels);
      const t1 = performance.now();
      const patches = encoder.spec.grid[0] * encoder.spec.grid[1];
      const shape: QualityShape = { batch: 1, genPatches: patches, refPatches: patches, dim: encoder.spec.dim };
      const { result, backend, note, features } = await this.quality(gen, ref, shape, encoder.spec);
      const grid = { height: encoder.spec.grid[0], width: encoder.spec.grid[1] };
      return {
        maps: patchQualityMaps(result, 0, grid, grid, request.refWeight),
        backend,
        backendNote: note,
        features,
        encoderLabel: encoder.label,
        encoderMs: t1 - t0,
        qualityMs: performance.now() - t1,
        ...(genInput.seen && refInput.seen ? { seen: { generated: genInput.seen, reference: refInput.seen } } : {}),
      };
    } finally {
      for (const f of [gen, ref]) if (f && "tensor" in f) f.tensor.dispose();
    }
  }

  private encoder(ref: EncoderRef): Encoder {
    if (ref.kind === "user") {
      const user = this.users.get(ref.id);
      if (!user) throw new Error(`user encoder ${ref.id} is not loaded (was the worker restarted?)`);
      return user;
    }
    const session = this.packEncoder(ref.packId);
    if (!session) throw new Error(`pack "${ref.packId}" has no loaded patch_encoder session`);
    return { session, spec: ref.spec, background: ref.background, label: `${ref.packId} patch_encoder` };
  }

  private async features(encoder: Encoder, pixels: Float32Array): Promise<Features> {
    const { spec } = encoder;
    const out = await runOrt(encoder.session, {
      [spec.input]: { dtype: "float32", dims: [1, 3, spec.image_size, spec.image_size], data: pixels },
    });
    const t = out[spec.output];
    for (const [name, other] of Object.entries(out))
      if (name !== spec.output && other.location === "gpu-buffer") other.dispose();
    if (t?.type === "float16") {
      // fp16 exports: features as float32 on the CPU (the kernel binds float32 buffers only).
      const data = float16Data(t.location === "cpu" ? t.data : await t.getData(true));
      return { data: patchFeatures(data, t.dims, spec) };
    }
    if (t?.type !== "float32") throw new EncoderSpecError(`${encoder.label}: no float32 output "${spec.output}"`);
    checkOutputDims(t.dims, spec);
    if (t.location === "gpu-buffer") {
      // Patch rows are contiguous after the skipped tokens; a binding offset must be aligned.
      const offset = spec.skip_tokens * spec.dim * 4;
      const aligned = offset % 256 === 0;
      if (spec.output_layout !== "BDHW" && aligned) {
        const size = spec.grid[0] * spec.grid[1] * spec.dim * 4;
        return { tensor: t, binding: { buffer: t.gpuBuffer as GPUBuffer, offset, size } };
      }
      return { data: patchFeatures((await t.getData(true)) as Float32Array, t.dims, spec) };
    }
    return { data: patchFeatures(t.data as Float32Array, t.dims, spec) };
  }

  private async quality(
    gen: Features,
    ref: Features,
    shape: QualityShape,
    spec: EncoderSpec,
  ): Promise<{ result: QualityResult; backend: "webgpu" | "cpu"; note?: string; features: "gpu-buffer" | "cpu" }> {
    if ("binding" in gen && "binding" in ref) {
      // ORT's device: its output buffers can only be bound by pipelines on the same device.
      this.ortGpu ??= GpuContext.fromDevice(await ort.env.webgpu.device);
      try {
        const result = await patchQualityGpu(this.ortGpu, gen.binding, ref.binding, shape);
        return { result, backend: "webgpu", features: "gpu-buffer" };
      } catch (e) {
        this.ortGpu = undefined;
        this.gpuFailure = `the WGSL kernel on ORT's device failed: ${(e as Error).message}`;
      }
    }
    const g = await cpuFeatures(gen, spec);
    const r = await cpuFeatures(ref, spec);
    const ctx = await this.context();
    if (ctx) {
      try {
        return { result: await patchQualityGpu(ctx, g, r, shape), backend: "webgpu", features: "cpu" };
      } catch (e) {
        // A lost device is recreated on the next request; this one finishes on the CPU.
        this.gpu = undefined;
        this.gpuFailure = `the WGSL kernel failed: ${(e as Error).message}`;
      }
    }
    return { result: patchQualityCpu(g, r, shape), backend: "cpu", note: this.gpuFailure, features: "cpu" };
  }

  private async context(): Promise<GpuContext | undefined> {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      this.gpuFailure = "no WebGPU in this worker";
      return undefined;
    }
    this.gpu ??= GpuContext.create(gpu, { label: "patchdpo-quality" });
    try {
      const ctx = await this.gpu;
      if (!ctx.lost) return ctx;
      this.gpu = undefined;
      this.gpuFailure = `the WebGPU device was lost: ${ctx.lost.message}`;
    } catch (e) {
      this.gpu = undefined;
      this.gpuFailure = (e as Error).message;
    }
    return undefined;
  }
}

async function cpuFeatures(f: Features, spec: EncoderSpec): Promise<Float32Array> {
  return "data" in f ? f.data : patchFeatures((await f.tensor.getData()) as Float32Array, f.tensor.dims, spec);
}

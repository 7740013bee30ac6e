/**
 * Patch quality in the inference worker: patch features of both images from a patch encoder
 * (the pack's or a user's ONNX), then the WGSL quality kernel when WebGPU works here, else the
 * CPU reference. Features travel to the kernel as typed arrays (see the note in computeQuality).
 */
import type * as ort from "onnxruntime-web";
import { imageToTensor, type RgbaImage } from "../src/core/generate/image";
import { patchQualityCpu } from "../src/core/quality/cpu";
import { type EncoderSpec, EncoderSpecError, patchFeatures, type UserEncoderSpec } from "../src/core/quality/encoder";
import { patchQualityMaps } from "../src/core/quality/maps";
import type { QualityResult, QualityShape } from "../src/core/quality/types";
import { GpuContext } from "../src/gpu/context";
import { patchQualityGpu } from "../src/gpu/kernels/quality";
import type { ExecutionProvider } from "./inference-api";
import { createSession, runSession } from "./ort-sessions";
import type { EncoderRef, QualityRequest, QualityResponse, UserEncoderInfo } from "./quality-api";

interface Encoder {
  session: ort.InferenceSession;
  spec: EncoderSpec;
  background: [number, number, number];
  label: string;
}

/** User encoders have no pack background; references are subjects on white. */
const WHITE: [number, number, number] = [255, 255, 255];

export class QualityService {
  private readonly users = new Map<string, Encoder>();
  private gpu?: Promise<GpuContext>;
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
      throw new EncoderSpecError(
        `${spec.file}: not a loadable ONNX model: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const problems: string[] = [];
    if (!session.inputNames.includes(spec.input))
      problems.push(`input "${spec.input}" not among [${session.inputNames.join(", ")}]`);
    if (!session.outputNames.includes(spec.output))
      problems.push(`output "${spec.output}" not among [${session.outputNames.join(", ")}]`);
    if (problems.length) {
      await session.release();
      throw new EncoderSpecError(`${spec.file}: ${problems.join("; ")}`);
    }
    const id = `user-${this.nextId++}`;
    this.users.set(id, { session, spec, background: WHITE, label: spec.file });
    return { id, spec, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
  }

  async computeQuality(request: QualityRequest): Promise<QualityResponse> {
    const encoder = this.encoder(request.encoder);
    const t0 = performance.now();
    const gen = await this.features(encoder, request.generated, "generated image");
    const ref = await this.features(encoder, request.reference, "reference image");
    const t1 = performance.now();
    const patches = encoder.spec.grid[0] * encoder.spec.grid[1];
    const shape: QualityShape = { batch: 1, genPatches: patches, refPatches: patches, dim: encoder.spec.dim };
    // The encoder's output comes back to the CPU here (runSession reads it), then uploads to the
    // kernel: two 8×8×64 maps are 32 KB, far below the cost of the encoder run itself.
    const { result, backend, note } = await this.quality(gen, ref, shape);
    const grid = { height: encoder.spec.grid[0], width: encoder.spec.grid[1] };
    return {
      maps: patchQualityMaps(result, 0, grid, grid, request.refWeight),
      backend,
      backendNote: note,
      encoderLabel: encoder.label,
      encoderMs: t1 - t0,
      qualityMs: performance.now() - t1,
    };
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

  private async features(encoder: Encoder, image: RgbaImage, what: string): Promise<Float32Array> {
    const { spec, background } = encoder;
    const pixels = imageToTensor(image, { size: spec.image_size, range: spec.range, background }, what);
    const out = await runSession(encoder.session, {
      [spec.input]: { dtype: "float32", dims: [1, 3, spec.image_size, spec.image_size], data: pixels },
    });
    const t = out[spec.output];
    if (t?.dtype !== "float32") throw new EncoderSpecError(`${encoder.label}: no float32 output "${spec.output}"`);
    return patchFeatures(t.data as Float32Array, t.dims, spec);
  }

  private async quality(
    gen: Float32Array,
    ref: Float32Array,
    shape: QualityShape,
  ): Promise<{ result: QualityResult; backend: "webgpu" | "cpu"; note?: string }> {
    const ctx = await this.context();
    if (ctx) {
      try {
        return { result: await patchQualityGpu(ctx, gen, ref, shape), backend: "webgpu" };
      } catch (e) {
        // A lost device is recreated on the next request; this one finishes on the CPU.
        this.gpu = undefined;
        this.gpuFailure = `the WGSL kernel failed: ${(e as Error).message}`;
      }
    }
    return { result: patchQualityCpu(gen, ref, shape), backend: "cpu", note: this.gpuFailure };
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

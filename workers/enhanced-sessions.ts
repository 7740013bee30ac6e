/**
 * Enhanced encoders opened in the inference worker: the pack's patch_encoder.onnx with the run's
 * weights, handed to the QualityService under `enhanced:<run id>` with the pack's spec and
 * background, so Inspect's maps and Compare's scores run it like the pack's own encoder.
 */
import { packEncoderSpec } from "../src/core/quality/encoder-spec";
import { readEnhance } from "./enhance-store";
import { enhancedEncoderModel } from "./enhanced-encoder";
import type { ExecutionProvider } from "./inference-api";
import { createSession } from "./ort-sessions";
import { packCache } from "./pack-cache";
import type { QualityService } from "./quality";
import type { UserEncoderInfo } from "./quality-api";

export class EnhancedSessions {
  /** What is open per run: at which step, on which provider. */
  private readonly open = new Map<string, { step: number; provider: ExecutionProvider; info: UserEncoderInfo }>();

  constructor(private readonly quality: QualityService) {}

  async openEncoder(id: string, provider: ExecutionProvider): Promise<UserEncoderInfo> {
    const current = this.open.get(id);
    const stored = await readEnhance(id);
    if (current && current.step === stored?.step && current.provider === provider) return current.info;
    const { model, record, step } = await enhancedEncoderModel(id);
    const pack = await packCache().record(record.packId);
    if (!pack) throw new Error(`pack "${record.packId}" is not in the pack cache`);
    const { manifest } = pack;
    const session = await createSession(model, provider);
    const spec = packEncoderSpec(manifest);
    const workerId = `enhanced:${id}`;
    await this.quality.addEncoder(workerId, {
      session,
      spec,
      background: manifest.image.background,
      label: `${record.label} (enhanced ${record.packId} patch_encoder, step ${step})`,
    });
    const info: UserEncoderInfo = {
      id: workerId,
      spec: { ...spec, file: manifest.roles.patch_encoder?.file ?? "patch_encoder.onnx" },
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      enhanced: {
        id,
        label: record.label,
        packId: record.packId,
        step,
        sPatchBefore: record.sPatch[0]?.top1,
        sPatch: record.sPatch.filter((p) => p.step <= step).at(-1)?.top1,
      },
    };
    this.open.set(id, { step, provider, info });
    return info;
  }
}

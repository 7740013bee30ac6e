/**
 * Loading a user-supplied patch encoder (docs/manifest.md, "user encoders") into the inference
 * worker: the one path behind Inspect's encoder form and Compare's evaluator slots.
 */
import type { UserEncoderInfo } from "../../../workers/quality-api";
import { parseUserEncoderSpec } from "../../core/quality/encoder-spec";
import { inference } from "../services/workers";
import { useSettings } from "./settings";

/**
 * Validates the description `text` (errors start with `source`, the name the user knows it by)
 * and that `model` is the file it names, then loads the model.
 */
export async function loadUserEncoder(source: string, text: string, model: File | undefined): Promise<UserEncoderInfo> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const spec = parseUserEncoderSpec(json, source);
  if (!model) throw new Error("choose the encoder's ONNX file");
  if (model.name !== spec.file)
    throw new Error(`${source}: file is "${spec.file}" but the chosen file is "${model.name}"`);
  const bytes = new Uint8Array(await model.arrayBuffer());
  return inference.call((api) => api.loadUserEncoder(spec, bytes, useSettings.getState().executionProvider));
}

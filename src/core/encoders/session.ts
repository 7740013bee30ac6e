/**
 * What the encoder loaders need of an ONNX Runtime session, without importing onnxruntime here:
 * its I/O signature (names, dtypes, shapes) and the session options for external data.
 */
import type { SessionSignature, ValueInfo } from "../pack/signature";
import type { EncoderModel } from "./registry";

/** The shape of onnxruntime's ValueMetadata (both the web and node packages). */
type Metadata = { name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> };

export interface SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly Metadata[];
  readonly outputMetadata?: readonly Metadata[];
}

/** A SessionSignature with every part present, as plain arrays. */
export interface PlainSignature extends SessionSignature {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: ValueInfo[];
  outputMetadata: ValueInfo[];
}

function values(list: readonly Metadata[] | undefined): ValueInfo[] | undefined {
  return list?.map((m) =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: m.shape ? [...m.shape] : undefined }
      : { name: m.name, isTensor: false },
  );
}

/** A session's signature as plain data (it travels to the UI and into the registry record). */
export function sessionSignature(session: SessionLike): PlainSignature {
  return {
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputMetadata: values(session.inputMetadata) ?? session.inputNames.map((name) => ({ name, isTensor: true })),
    outputMetadata: values(session.outputMetadata) ?? session.outputNames.map((name) => ({ name, isTensor: true })),
  };
}

/** onnxruntime's `externalData` session option for a model's external data files. */
export function externalDataOption(
  model: EncoderModel,
  bytes: (file: string) => Uint8Array,
): { externalData?: { path: string; data: Uint8Array }[] } {
  if (!model.externalData.length) return {};
  return { externalData: model.externalData.map((d) => ({ path: d.location, data: bytes(d.file) })) };
}

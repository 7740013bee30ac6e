/**
 * Checks an ONNX session's declared inputs/outputs against the manifest before the studio uses it.
 * Works on plain data so it runs without onnxruntime (the worker passes the session's metadata).
 */
import type { Dim, RoleSpec, TensorSpec } from "./manifest";

/** What an ORT session reports about one input or output (subset of ORT's ValueMetadata). */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export interface SessionSignature {
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Present when the ORT build exposes metadata; names-only checking otherwise. */
  inputMetadata?: readonly ValueInfo[];
  outputMetadata?: readonly ValueInfo[];
}

export function formatShape(shape: readonly (Dim | string)[]): string {
  return `[${shape.join(", ")}]`;
}

export function formatTensor(t: TensorSpec): string {
  return `${t.name}: ${t.dtype}${formatShape(t.shape)}`;
}

function checkTensor(expected: TensorSpec, actual: ValueInfo | undefined, where: string): string[] {
  if (!actual) return [];
  if (!actual.isTensor) return [`${where} "${expected.name}" is not a tensor in the model`];
  const problems: string[] = [];
  if (actual.type !== undefined && actual.type !== expected.dtype) {
    problems.push(`${where} "${expected.name}" has dtype ${actual.type} in the model, manifest says ${expected.dtype}`);
  }
  const shape = actual.shape;
  // ORT reports an empty shape when the model leaves it undefined; nothing to compare then.
  if (shape && shape.length > 0) {
    const mismatch =
      shape.length !== expected.shape.length ||
      expected.shape.some((dim, i) => {
        const got = shape[i];
        // A symbolic model dimension accepts any size; a fixed one cannot serve "batch" or "image_tokens".
        if (typeof got === "string" || got < 0) return false;
        return typeof dim === "string" || dim !== got;
      });
    if (mismatch) {
      problems.push(
        `${where} "${expected.name}" has shape ${formatShape(shape)} in the model, manifest says ${formatShape(expected.shape)}`,
      );
    }
  }
  return problems;
}

/** Returns the problems found; empty when the session's inputs and outputs match the manifest. */
export function checkSignature(spec: Pick<RoleSpec, "inputs" | "outputs">, session: SessionSignature): string[] {
  const problems: string[] = [];
  const declaredInputs = new Set(spec.inputs.map((t) => t.name));
  for (const name of session.inputNames) {
    if (!declaredInputs.has(name)) problems.push(`model input "${name}" is not declared in the manifest`);
  }
  for (const t of spec.inputs) {
    if (!session.inputNames.includes(t.name)) {
      problems.push(`manifest input "${t.name}" is not an input of the model`);
    }
  }
  const declaredOutputs = new Set(spec.outputs.map((t) => t.name));
  for (const name of session.outputNames) {
    if (!declaredOutputs.has(name)) problems.push(`model output "${name}" is not declared in the manifest`);
  }
  for (const t of spec.outputs) {
    if (!session.outputNames.includes(t.name))
      problems.push(`manifest output "${t.name}" is not an output of the model`);
  }
  const byName = (list?: readonly ValueInfo[]) => new Map((list ?? []).map((v) => [v.name, v]));
  const inMeta = byName(session.inputMetadata);
  const outMeta = byName(session.outputMetadata);
  for (const t of spec.inputs) problems.push(...checkTensor(t, inMeta.get(t.name), "input"));
  for (const t of spec.outputs) problems.push(...checkTensor(t, outMeta.get(t.name), "output"));
  return problems;
}

import { describe, expect, it } from "vitest";
import { checkSignature, type ValueInfo } from "./signature";
import { tensor } from "./testing/fixtures";

const spec = {
  inputs: [tensor("latent", "float32", ["batch", 4, 16, 16]), tensor("prompt_ids", "int64", ["batch", 3])],
  outputs: [tensor("eps", "float32", ["batch", 4, 16, 16])],
};

const meta = (name: string, type: string, shape: (number | string)[]): ValueInfo => ({
  name,
  isTensor: true,
  type,
  shape,
});

const matching = {
  inputNames: ["latent", "prompt_ids"],
  outputNames: ["eps"],
  inputMetadata: [meta("latent", "float32", ["batch", 4, 16, 16]), meta("prompt_ids", "int64", ["N", 3])],
  outputMetadata: [meta("eps", "float32", ["batch", 4, 16, 16])],
};

describe("checkSignature", () => {
  it("accepts a session that matches, whatever its symbolic dimension names", () => {
    expect(checkSignature(spec, matching)).toEqual([]);
  });

  it("checks names only when ORT gives no metadata", () => {
    expect(checkSignature(spec, { inputNames: ["latent", "prompt_ids"], outputNames: ["eps"] })).toEqual([]);
  });

  it("reports missing and undeclared inputs and outputs", () => {
    const problems = checkSignature(spec, { ...matching, inputNames: ["latent", "extra"], outputNames: ["out"] });
    expect(problems).toEqual([
      'model input "extra" is not declared in the manifest',
      'manifest input "prompt_ids" is not an input of the model',
      'model output "out" is not declared in the manifest',
      'manifest output "eps" is not an output of the model',
    ]);
  });

  it("reports dtype and shape mismatches", () => {
    const problems = checkSignature(spec, {
      ...matching,
      inputMetadata: [meta("latent", "float32", ["batch", 4, 8, 8]), meta("prompt_ids", "int32", ["batch", 3])],
      outputMetadata: [meta("eps", "float32", ["batch", 4, 16])],
    });
    expect(problems).toEqual([
      'input "latent" has shape [batch, 4, 8, 8] in the model, manifest says [batch, 4, 16, 16]',
      'input "prompt_ids" has dtype int32 in the model, manifest says int64',
      'output "eps" has shape [batch, 4, 16] in the model, manifest says [batch, 4, 16, 16]',
    ]);
  });

  it("rejects a fixed model batch where the manifest promises any batch", () => {
    const problems = checkSignature(spec, {
      ...matching,
      inputMetadata: [meta("latent", "float32", [1, 4, 16, 16]), meta("prompt_ids", "int64", ["batch", 3])],
    });
    expect(problems).toEqual([
      'input "latent" has shape [1, 4, 16, 16] in the model, manifest says [batch, 4, 16, 16]',
    ]);
  });

  it("rejects a non-tensor value", () => {
    const problems = checkSignature(spec, {
      ...matching,
      outputMetadata: [{ name: "eps", isTensor: false }],
    });
    expect(problems).toEqual(['output "eps" is not a tensor in the model']);
  });
});

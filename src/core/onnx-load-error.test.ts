import { describe, expect, it } from "vitest";
import { onnxLoadError } from "./onnx-load-error";

describe("onnxLoadError", () => {
  it.each([
    [
      "Can't create a session. ERROR_CODE: 7, ERROR_MESSAGE: Failed to load model because protobuf parsing failed.",
      "is not an ONNX model, or the file is truncated",
    ],
    ["Unsupported model IR version: 11, max supported IR version: 10", "was saved by a newer ONNX exporter"],
    ["Could not find an implementation for Foo(1) node with name ''", "uses an operator this backend cannot run"],
    [42, "could not be loaded as an ONNX model"],
  ])("%s", (raw, meaning) => {
    const text = onnxLoadError("denoiser.onnx", typeof raw === "number" ? raw : new Error(raw));
    const [first, details] = text.split("\n");
    expect(first).toContain(`denoiser.onnx: ${meaning}`);
    expect(details).toBe(`details: ${String(raw)}`);
  });
});

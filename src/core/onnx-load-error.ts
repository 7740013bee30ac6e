/**
 * ONNX Runtime's session-creation errors in plain words. Its messages ("ERROR_CODE: 7, ERROR_MESSAGE:
 * … protobuf parsing failed") name the failure the way its C++ sees it; the studio says what that
 * means for the file, and keeps the raw text as a details line for a bug report.
 */

/** What ORT's raw text means for the file, most specific first. */
const MEANINGS: [RegExp, string][] = [
  [/protobuf parsing failed|ERROR_CODE: 7\b|INVALID_PROTOBUF/i, "is not an ONNX model, or the file is truncated"],
  [/Unsupported model IR version|ir_version/i, "was saved by a newer ONNX exporter than this ONNX Runtime reads"],
  [/opset|Opset/, "uses an ONNX opset this ONNX Runtime does not support"],
  [
    /external (data|initializer)|model\.onnx_data|Failed to load external data/i,
    "needs an external data file that was not given",
  ],
  [
    /Could not find an implementation|NOT_IMPLEMENTED|not implemented/i,
    "uses an operator this backend cannot run (try the other backend)",
  ],
  [/out of memory|bad_alloc|memory access out of bounds/i, "does not fit in the memory this backend has"],
];

/** `file: <plain meaning>` plus the raw text on a second line. `e` is what ORT threw (an Error, a number or a string). */
export function onnxLoadError(file: string, e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const meaning = MEANINGS.find(([pattern]) => pattern.test(raw))?.[1] ?? "could not be loaded as an ONNX model";
  return `${file}: ${meaning}\ndetails: ${raw}`;
}

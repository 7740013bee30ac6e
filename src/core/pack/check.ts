/** The manifest validator's building blocks: a checker that records `file: path: problem`, and shared field checks. */

export type Json = unknown;
export const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Walks the JSON, recording `file: path: problem` for each violation. */
export class Checker {
  readonly issues: string[] = [];
  constructor(readonly file: string) {}

  fail(path: string, problem: string): void {
    this.issues.push(`${this.file}: ${path}: ${problem}`);
  }

  /** Returns the field or records it as missing. */
  field(obj: Record<string, Json>, key: string, path: string): Json | undefined {
    if (!(key in obj) || obj[key] === undefined) {
      this.fail(join(path, key), "missing required field");
      return undefined;
    }
    return obj[key];
  }

  object(v: Json, path: string): Record<string, Json> | undefined {
    if (v === undefined) return undefined;
    if (isObject(v)) return v;
    this.fail(path, "expected an object");
    return undefined;
  }

  array(v: Json, path: string): Json[] | undefined {
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v;
    this.fail(path, "expected an array");
    return undefined;
  }

  string(v: Json, path: string, pattern?: RegExp): void {
    if (v === undefined) return;
    if (typeof v !== "string") this.fail(path, "expected a string");
    else if (pattern && !pattern.test(v)) this.fail(path, `must match ${pattern}`);
  }

  number(v: Json, path: string, opts: { integer?: boolean; min?: number } = {}): void {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(path, "expected a number");
    else if (opts.integer && !Number.isInteger(v)) this.fail(path, "expected an integer");
    else if (opts.min !== undefined && v < opts.min) this.fail(path, `must be >= ${opts.min}`);
  }

  oneOf(v: Json, path: string, allowed: readonly Json[]): void {
    if (v === undefined) return;
    if (!allowed.includes(v)) this.fail(path, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  }

  numberTuple(v: Json, path: string, length: number): void {
    const arr = this.array(v, path);
    if (!arr) return;
    if (arr.length !== length) this.fail(path, `expected ${length} numbers`);
    arr.forEach((x, i) => {
      this.number(x, `${path}[${i}]`);
    });
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** Relative paths inside the pack; no escaping the folder, no URLs. */
export const PACK_PATH_PATTERN = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))(?!.*:)[^\\]+$/;

export function checkFileRef(c: Checker, obj: Record<string, Json>, path: string): void {
  c.string(c.field(obj, "file", path), join(path, "file"), PACK_PATH_PATTERN);
  c.number(c.field(obj, "bytes", path), join(path, "bytes"), { integer: true, min: 1 });
  c.string(c.field(obj, "sha256", path), join(path, "sha256"), SHA256_PATTERN);
}

/**
 * The most one tensor may take. onnxruntime-web's WASM heap is 4 GiB in all, and Chromium's
 * ArrayBuffers and WebGPU buffers are smaller still, so a manifest promising more cannot run in
 * any browser; it is refused at load rather than failing at the first allocation.
 */
export const MAX_TENSOR_BYTES = 2 ** 31;

const BYTES = { float32: 4, int64: 8 } as const;

/** Records a problem when `dims` (one item, for a batch axis) of `elementBytes` each exceed MAX_TENSOR_BYTES. */
export function checkTensorBytes(c: Checker, dims: number[], elementBytes: number, path: string): void {
  const bytes = dims.reduce((a, b) => a * b, elementBytes);
  if (bytes > MAX_TENSOR_BYTES)
    c.fail(
      path,
      `[${dims.join(", ")}] takes ${(bytes / 2 ** 30).toPrecision(3)} GiB per item; one tensor must fit in 2 GiB`,
    );
}

export function checkTensors(c: Checker, v: Json, path: string, allowEmpty: boolean): void {
  const list = c.array(v, path);
  if (!list) return;
  if (!allowEmpty && list.length === 0) c.fail(path, "expected at least one tensor");
  const seen = new Set<string>();
  list.forEach((t, i) => {
    const p = `${path}[${i}]`;
    const obj = c.object(t, p);
    if (!obj) return;
    const name = c.field(obj, "name", p);
    c.string(name, `${p}.name`);
    if (typeof name === "string") {
      if (seen.has(name)) c.fail(`${p}.name`, `duplicate tensor name "${name}"`);
      seen.add(name);
    }
    const dtype = c.field(obj, "dtype", p);
    c.oneOf(dtype, `${p}.dtype`, ["float32", "int64"]);
    const shape = c.array(c.field(obj, "shape", p), `${p}.shape`);
    let valid = shape !== undefined;
    shape?.forEach((d, j) => {
      if (d === "batch" || d === "image_tokens") return;
      if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
        c.fail(`${p}.shape[${j}]`, 'expected a positive integer, "batch" or "image_tokens"');
        valid = false;
      }
    });
    if (shape && valid)
      checkTensorBytes(
        c,
        shape.map((d) => (typeof d === "number" ? d : 1)),
        BYTES[dtype as keyof typeof BYTES] ?? 4,
        `${p}.shape`,
      );
  });
}

/** The patch-feature layout an encoder declares (patch_encoder role and evaluators). */
export function checkPatchLayout(c: Checker, obj: Record<string, Json>, path: string): void {
  const grid = c.array(c.field(obj, "grid", path), `${path}.grid`);
  if (grid && (grid.length !== 2 || !grid.every((g) => Number.isInteger(g) && (g as number) >= 1))) {
    c.fail(`${path}.grid`, "expected [height, width], positive integers");
  }
  c.number(c.field(obj, "dim", path), `${path}.dim`, { integer: true, min: 1 });
  c.number(c.field(obj, "skip_tokens", path), `${path}.skip_tokens`, { integer: true, min: 0 });
  c.oneOf(c.field(obj, "output_layout", path), `${path}.output_layout`, ["BHWD", "BDHW", "BTD"]);
}

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
    c.oneOf(c.field(obj, "dtype", p), `${p}.dtype`, ["float32", "int64"]);
    const shape = c.array(c.field(obj, "shape", p), `${p}.shape`);
    shape?.forEach((d, j) => {
      if (d === "batch") return;
      if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
        c.fail(`${p}.shape[${j}]`, 'expected a positive integer or "batch"');
      }
    });
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

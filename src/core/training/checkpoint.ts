/**
 * Stored checkpoints: whether one read back from storage is whole (every adapter tensor and both
 * AdamW moments present, of the right length and finite), and which checkpoints a run keeps.
 */
import type { Checkpoint } from "./loop";

/** The adapter tensors a checkpoint must hold: element count by manifest name. */
export type AdapterSizes = ReadonlyMap<string, number>;

export function adapterSizes(tensors: readonly { name: string; shape: readonly number[] }[]): AdapterSizes {
  return new Map(tensors.map((t) => [t.name, t.shape.reduce((a, b) => a * b, 1)]));
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

function tensorsProblem(what: string, tensors: unknown, sizes: AdapterSizes): string | undefined {
  if (!(tensors instanceof Map)) return `${what} is missing`;
  for (const [name, size] of sizes) {
    const t = tensors.get(name);
    if (!(t instanceof Float32Array)) return `${what} has no tensor ${name}`;
    if (t.length !== size) return `${what} ${name} has ${t.length} values, expected ${size}`;
    for (const v of t) if (!Number.isFinite(v)) return `${what} ${name} holds NaN or infinite values`;
  }
  for (const name of tensors.keys()) if (!sizes.has(name)) return `${what} has an unexpected tensor ${name}`;
  return undefined;
}

/**
 * Why a checkpoint read back from storage cannot be resumed from, or undefined when it is whole.
 * `sizes` are the adapter's tensors (the pack manifest's); without them, the adapter's own tensors
 * are the reference the moments must match. `step`, when given, is the step the entry was stored as.
 */
export function checkpointProblem(cp: unknown, sizes?: AdapterSizes, step?: number): string | undefined {
  if (!cp || typeof cp !== "object") return "the entry is missing";
  const { step: s, adapter, optimizer } = cp as Partial<Checkpoint>;
  if (!isCount(s)) return "its step is not a whole number";
  if (step !== undefined && s !== step) return `it holds step ${s}, not ${step}`;
  if (!(adapter instanceof Map) || adapter.size === 0) return "its adapter is missing";
  const expected: AdapterSizes =
    sizes ?? new Map([...adapter].map(([n, t]) => [n, t instanceof Float32Array ? t.length : -1]));
  const problem =
    tensorsProblem("its adapter", adapter, expected) ??
    (optimizer && typeof optimizer === "object"
      ? (tensorsProblem("its AdamW first moment", optimizer.m, expected) ??
        tensorsProblem("its AdamW second moment", optimizer.v, expected) ??
        (isCount(optimizer.step) ? undefined : "its AdamW step is not a whole number"))
      : "its AdamW state is missing");
  return problem;
}

/** A stored checkpoint of a run, as the run record lists it (oldest first). */
export interface CheckpointRef {
  step: number;
  savedAt: string;
}

/**
 * The run's checkpoint list after storing one at `step`: the new one last, none at or after its
 * step (a resumed run trains those again), at most `keep` (≥ 1), and the refs that drop out.
 */
export function keepCheckpoints(
  refs: readonly CheckpointRef[],
  added: CheckpointRef,
  keep: number,
): { kept: CheckpointRef[]; dropped: CheckpointRef[] } {
  const n = Math.max(1, Math.floor(keep) || 1);
  const all = [...refs.filter((r) => r.step < added.step), added];
  const kept = all.slice(-n);
  const dropped = [...refs.filter((r) => !kept.includes(r) && r.step !== added.step)];
  return { kept, dropped };
}

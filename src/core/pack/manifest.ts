/**
 * Model-pack manifest, schema v1 (docs/manifest.md): types and validator.
 * The validator collects every problem it finds, each naming the file and the JSON path.
 */
import {
  Checker,
  checkFileRef,
  checkPatchLayout,
  checkTensorBytes,
  checkTensors,
  isObject,
  type Json,
  PACK_PATH_PATTERN,
} from "./check";
import { checkRoles, ROLE_NAMES, type RoleName, type Roles } from "./roles";

export * from "./roles";

export const MANIFEST_FILE = "manifest.json";
export const SCHEMA_NAME = "patchdpo-pack";
export const SCHEMA_VERSION = 1;

export type DType = "float32" | "int64";
/**
 * A tensor dimension: fixed, the batch, or the image-token count of a denoiser that takes one to
 * `architecture.max_references` references (references × `image_tokens`).
 */
export type Dim = number | "batch" | "image_tokens";

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface FileRef {
  file: string;
  bytes: number;
  sha256: string;
}

/** How an encoder lays out its patch features (the patch_encoder role and the evaluators). */
export interface PatchLayout {
  grid: [number, number];
  dim: number;
  skip_tokens: number;
  output_layout: "BHWD" | "BDHW" | "BTD";
}

export interface GalleryEntry {
  id: string;
  name: string;
  category?: string;
  file: string;
  /** A training subject kept out of training, for tuning recipes off the held-out subjects. */
  validation?: boolean;
}

/**
 * An evaluator encoder (metrics only, never a training signal): ONNX file, I/O and patch-feature
 * layout. Its outputs are the patch features and, when `embedding_output` names one, a global
 * embedding; `evaluatorOutputs` tells them apart.
 */
export interface EvaluatorSpec extends FileRef, PatchLayout {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** The output holding a global embedding `[batch, D]`; the other output holds the patch features. */
  embedding_output?: string;
  description?: string;
}

export const EVALUATOR_NAMES = ["independent", "patch_encoder_random"] as const;
export type EvaluatorName = (typeof EVALUATOR_NAMES)[number];

export interface Evaluators {
  /** A network that was never a training signal: patch features and a global embedding (DINO-score analogue). */
  independent?: EvaluatorSpec;
  /** The patch encoder's architecture with its initial random weights: an ablation, not an evaluator. */
  patch_encoder_random?: EvaluatorSpec;
}

/** An evaluator's output names: the patch features, and the global embedding when it has one. */
export function evaluatorOutputs(spec: EvaluatorSpec): { features: string; embedding?: string } {
  const features = spec.outputs.filter((o) => o.name !== spec.embedding_output);
  if (features.length !== 1) {
    throw new RangeError(`${spec.file}: expected one patch-feature output, found ${features.length}`);
  }
  return { features: features[0].name, ...(spec.embedding_output ? { embedding: spec.embedding_output } : {}) };
}

/** A fully specified EmojiBench prompt: one value per slot name. */
export type ScenePrompt = Record<string, string>;

/** The EmojiBench scene kit (foundry/foundry/scene.py): everything needed to render exact ground truth. */
export interface SceneKit {
  composite: string;
  /** Held-out subject ids in atlas order. */
  subjects: string[];
  /** Background name → 64×64 RGB PNG. */
  backgrounds: Record<string, string>;
  /** Position name → sprite centre (cx, cy). */
  positions: Record<string, [number, number]>;
  /** Size name → RGBA atlas of px×px sprites, subject i at row ⌊i/columns⌋, column i mod columns. */
  sprites: Record<string, { file: string; px: number; columns: number }>;
  eval_prompts: { subject: string; prompt: ScenePrompt }[];
  /** Two-subject scenes (multi-subject personalization); absent in packs made before them. */
  pairs?: ScenePairs;
}

/** A two-subject scene prompt: background, layout (where A and B go) and one size for both. */
export interface PairPrompt {
  background: string;
  layout: string;
  size: string;
}

export interface ScenePairs {
  /** Layout name (e.g. "A left, B right") → A's and B's position names. B is drawn over A. */
  layouts: Record<string, [string, string]>;
  /** The foundry eval's pairs of held-out subjects with their prompts. */
  eval: { a: string; b: string; prompt: PairPrompt }[];
}

export interface Manifest {
  schema: typeof SCHEMA_NAME;
  schema_version: typeof SCHEMA_VERSION;
  id: string;
  title: string;
  description: string;
  license: string;
  attribution: string;
  image: {
    size: number;
    channels: number;
    layout: "NCHW";
    range: [number, number];
    background: [number, number, number];
  };
  latent: { channels: number; height: number; width: number; scale_factor: number };
  scheduler: {
    type: string;
    num_train_timesteps: number;
    beta_schedule: "linear" | "scaled_linear";
    beta_start: number;
    beta_end: number;
    prediction_type: string;
    /** The denoiser's timestep input is the integer step as float32. */
    timestep_input: "float";
    defaults: Record<string, number | string>;
  };
  prompt: {
    length: number;
    null_id: number;
    slots: { name: string; any_id: number; values: { id: number; text: string }[] }[];
    /** Two-subject layouts as values of one slot (core/generate/prompt.ts PromptSpec). */
    layouts?: { slot: string; values: { id: number; text: string; first: "A" | "B" }[] };
  };
  roles: Roles;
  gallery?: { heldout: GalleryEntry[]; train: GalleryEntry[] };
  evaluators?: Evaluators;
  scenes?: SceneKit;
  eval?: string;
}

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly issues: string[],
  ) {
    super(issues.length === 1 ? issues[0] : `${file}: ${issues.length} problems:\n${issues.join("\n")}`);
    this.name = "ManifestError";
  }
}

const ID_PATTERN = /^[a-z0-9_-]+$/;
function checkGallery(c: Checker, v: Json): void {
  const g = c.object(v, "gallery");
  if (!g) return;
  for (const split of ["heldout", "train"]) {
    const list = c.array(c.field(g, split, "gallery"), `gallery.${split}`);
    list?.forEach((e, i) => {
      const p = `gallery.${split}[${i}]`;
      const obj = c.object(e, p);
      if (!obj) return;
      c.string(c.field(obj, "id", p), `${p}.id`);
      c.string(c.field(obj, "name", p), `${p}.name`);
      c.string(c.field(obj, "file", p), `${p}.file`, PACK_PATH_PATTERN);
      if (obj.validation !== undefined && typeof obj.validation !== "boolean")
        c.fail(`${p}.validation`, "expected true or false");
    });
  }
}

/** Exactly one patch-feature output, besides the output `embedding_output` names when given. */
function checkEvaluatorOutputs(c: Checker, outputs: Json[], embedding: Json, path: string): void {
  const names = outputs.map((o) => (isObject(o) ? o.name : undefined));
  if (embedding !== undefined) {
    c.string(embedding, `${path}.embedding_output`);
    if (typeof embedding === "string" && !names.includes(embedding)) {
      c.fail(
        `${path}.embedding_output`,
        `"${embedding}" is not one of the outputs (${names.map((n) => JSON.stringify(n)).join(", ")})`,
      );
      return;
    }
  }
  const expected = embedding === undefined ? 1 : 2;
  if (outputs.length > 0 && outputs.length !== expected) {
    c.fail(
      `${path}.outputs`,
      embedding === undefined
        ? `expected one output (the patch features), or two with embedding_output; found ${outputs.length}`
        : `expected two outputs, the patch features and embedding_output; found ${outputs.length}`,
    );
  }
}

function checkEvaluators(c: Checker, v: Json): void {
  const ev = c.object(v, "evaluators");
  if (!ev) return;
  for (const [name, spec] of Object.entries(ev)) {
    const path = `evaluators.${name}`;
    if (!(EVALUATOR_NAMES as readonly string[]).includes(name)) {
      c.fail(path, `unknown evaluator; expected one of ${EVALUATOR_NAMES.map((n) => `"${n}"`).join(", ")}`);
      continue;
    }
    const obj = c.object(spec, path);
    if (!obj) continue;
    checkFileRef(c, obj, path);
    checkTensors(c, c.field(obj, "inputs", path), `${path}.inputs`, false);
    const outputs = c.field(obj, "outputs", path);
    checkTensors(c, outputs, `${path}.outputs`, false);
    if (Array.isArray(outputs)) checkEvaluatorOutputs(c, outputs, obj.embedding_output, path);
    checkPatchLayout(c, obj, path);
  }
}

/** Names of a slot's values in the prompt vocabulary, for checking the scene kit against it. */
function slotValues(m: Record<string, Json>, slot: string): Set<string> | undefined {
  const slots = isObject(m.prompt) && Array.isArray(m.prompt.slots) ? m.prompt.slots : [];
  const found = slots.find((s) => isObject(s) && s.name === slot);
  if (!isObject(found) || !Array.isArray(found.values)) return undefined;
  return new Set(found.values.map((v) => (isObject(v) ? String(v.text) : "")));
}

function checkScenes(c: Checker, v: Json, m: Record<string, Json>): void {
  const s = c.object(v, "scenes");
  if (!s) return;
  c.string(c.field(s, "composite", "scenes"), "scenes.composite");
  const subjects = c.array(c.field(s, "subjects", "scenes"), "scenes.subjects");
  subjects?.forEach((id, i) => {
    c.string(id, `scenes.subjects[${i}]`);
  });
  const named = (key: string, check: (val: Json, path: string) => void) => {
    const obj = c.object(c.field(s, key, "scenes"), `scenes.${key}`);
    if (!obj) return new Set<string>();
    if (Object.keys(obj).length === 0) c.fail(`scenes.${key}`, "expected at least one entry");
    for (const [name, val] of Object.entries(obj)) check(val, `scenes.${key}.${name}`);
    return new Set(Object.keys(obj));
  };
  const kit: Record<string, Set<string>> = {
    background: named("backgrounds", (val, p) => c.string(val, p, PACK_PATH_PATTERN)),
    position: named("positions", (val, p) => c.numberTuple(val, p, 2)),
    size: named("sprites", (val, p) => {
      const sp = c.object(val, p);
      if (!sp) return;
      c.string(c.field(sp, "file", p), `${p}.file`, PACK_PATH_PATTERN);
      c.number(c.field(sp, "px", p), `${p}.px`, { integer: true, min: 1 });
      c.number(c.field(sp, "columns", p), `${p}.columns`, { integer: true, min: 1 });
    }),
  };
  const known = new Set((subjects ?? []).filter((x) => typeof x === "string"));
  const prompts = c.array(c.field(s, "eval_prompts", "scenes"), "scenes.eval_prompts");
  prompts?.forEach((e, i) => {
    const p = `scenes.eval_prompts[${i}]`;
    const obj = c.object(e, p);
    if (!obj) return;
    const subject = c.field(obj, "subject", p);
    c.string(subject, `${p}.subject`);
    if (typeof subject === "string" && !known.has(subject))
      c.fail(`${p}.subject`, `"${subject}" is not in scenes.subjects`);
    const prompt = c.object(c.field(obj, "prompt", p), `${p}.prompt`);
    if (!prompt) return;
    for (const slot of Object.keys(kit)) {
      const value = c.field(prompt, slot, `${p}.prompt`);
      if (value === undefined) continue;
      if (typeof value !== "string" || !kit[slot].has(value)) {
        c.fail(`${p}.prompt.${slot}`, `${JSON.stringify(value)} has no entry in the scene kit`);
      }
    }
  });
  if (s.pairs !== undefined) checkPairs(c, s.pairs, kit, known);
  // Every kit value must be a prompt value too, or the denoiser could not be asked for it.
  for (const [slot, names] of Object.entries(kit)) {
    const vocab = slotValues(m, slot);
    if (!vocab) {
      c.fail("scenes", `the prompt has no "${slot}" slot for the scene kit`);
      continue;
    }
    for (const name of names) if (!vocab.has(name)) c.fail("scenes", `${slot} "${name}" is not a prompt value`);
  }
}

function checkPairs(c: Checker, v: Json, kit: Record<string, Set<string>>, subjects: Set<Json>): void {
  const pairs = c.object(v, "scenes.pairs");
  if (!pairs) return;
  const layouts = c.object(c.field(pairs, "layouts", "scenes.pairs"), "scenes.pairs.layouts");
  for (const [name, val] of Object.entries(layouts ?? {})) {
    const p = `scenes.pairs.layouts.${name}`;
    const two = c.array(val, p);
    if (!two) continue;
    if (two.length !== 2 || two.some((x) => typeof x !== "string" || !kit.position.has(x)))
      c.fail(p, `expected two position names of the kit, got ${JSON.stringify(val)}`);
  }
  const allowed: Record<keyof PairPrompt, Set<string>> = {
    background: kit.background,
    layout: new Set(Object.keys(layouts ?? {})),
    size: kit.size,
  };
  c.array(c.field(pairs, "eval", "scenes.pairs"), "scenes.pairs.eval")?.forEach((e, i) => {
    const p = `scenes.pairs.eval[${i}]`;
    const obj = c.object(e, p);
    if (!obj) return;
    for (const key of ["a", "b"]) {
      const id = c.field(obj, key, p);
      if (typeof id !== "string" || !subjects.has(id))
        c.fail(`${p}.${key}`, `${JSON.stringify(id)} is not in scenes.subjects`);
    }
    const prompt = c.object(c.field(obj, "prompt", p), `${p}.prompt`);
    if (!prompt) return;
    for (const [slot, values] of Object.entries(allowed)) {
      const value = c.field(prompt, slot, `${p}.prompt`);
      if (value !== undefined && (typeof value !== "string" || !values.has(value)))
        c.fail(`${p}.prompt.${slot}`, `${JSON.stringify(value)} has no entry in the scene kit`);
    }
  });
}

/** Validates parsed JSON; throws ManifestError listing every problem. */
export function validateManifest(json: Json, file = MANIFEST_FILE): Manifest {
  const c = new Checker(file);
  const m = c.object(json, "(root)");
  if (!m) throw new ManifestError(file, c.issues);

  const schema = c.field(m, "schema", "");
  if (schema !== undefined && schema !== SCHEMA_NAME) c.fail("schema", `expected "${SCHEMA_NAME}"`);
  const version = c.field(m, "schema_version", "");
  if (version !== undefined && version !== SCHEMA_VERSION) {
    c.fail(
      "schema_version",
      `unsupported version ${JSON.stringify(version)}; this studio reads version ${SCHEMA_VERSION}`,
    );
  }
  c.string(c.field(m, "id", ""), "id", ID_PATTERN);
  for (const key of ["title", "description", "license", "attribution"]) c.string(c.field(m, key, ""), key);

  const image = c.object(c.field(m, "image", ""), "image");
  if (image) {
    const size = c.field(image, "size", "image");
    const channels = c.field(image, "channels", "image");
    c.number(size, "image.size", { integer: true, min: 1 });
    c.number(channels, "image.channels", { integer: true, min: 1 });
    if (Number.isInteger(size) && Number.isInteger(channels))
      checkTensorBytes(c, [channels as number, size as number, size as number], 4, "image");
    c.oneOf(c.field(image, "layout", "image"), "image.layout", ["NCHW"]);
    c.numberTuple(c.field(image, "range", "image"), "image.range", 2);
    c.numberTuple(c.field(image, "background", "image"), "image.background", 3);
  }

  const latent = c.object(c.field(m, "latent", ""), "latent");
  if (latent) {
    const dims = ["channels", "height", "width"].map((k) => {
      const v = c.field(latent, k, "latent");
      c.number(v, `latent.${k}`, { integer: true, min: 1 });
      return v;
    });
    if (dims.every((d) => Number.isInteger(d))) checkTensorBytes(c, dims as number[], 4, "latent");
    c.number(c.field(latent, "scale_factor", "latent"), "latent.scale_factor");
  }

  const sched = c.object(c.field(m, "scheduler", ""), "scheduler");
  if (sched) {
    c.string(c.field(sched, "type", "scheduler"), "scheduler.type");
    c.number(c.field(sched, "num_train_timesteps", "scheduler"), "scheduler.num_train_timesteps", {
      integer: true,
      min: 1,
    });
    c.oneOf(c.field(sched, "beta_schedule", "scheduler"), "scheduler.beta_schedule", ["linear", "scaled_linear"]);
    c.number(c.field(sched, "beta_start", "scheduler"), "scheduler.beta_start");
    c.number(c.field(sched, "beta_end", "scheduler"), "scheduler.beta_end");
    c.string(c.field(sched, "prediction_type", "scheduler"), "scheduler.prediction_type");
    c.oneOf(c.field(sched, "timestep_input", "scheduler"), "scheduler.timestep_input", ["float"]);
    c.object(c.field(sched, "defaults", "scheduler"), "scheduler.defaults");
  }

  const prompt = c.object(c.field(m, "prompt", ""), "prompt");
  if (prompt) {
    c.number(c.field(prompt, "length", "prompt"), "prompt.length", { integer: true, min: 1 });
    c.number(c.field(prompt, "null_id", "prompt"), "prompt.null_id", { integer: true, min: 0 });
    const slots = c.array(c.field(prompt, "slots", "prompt"), "prompt.slots");
    slots?.forEach((s, i) => {
      const p = `prompt.slots[${i}]`;
      const slot = c.object(s, p);
      if (!slot) return;
      c.string(c.field(slot, "name", p), `${p}.name`);
      c.number(c.field(slot, "any_id", p), `${p}.any_id`, { integer: true, min: 0 });
      const values = c.array(c.field(slot, "values", p), `${p}.values`);
      values?.forEach((v, j) => {
        const vp = `${p}.values[${j}]`;
        const val = c.object(v, vp);
        if (!val) return;
        c.number(c.field(val, "id", vp), `${vp}.id`, { integer: true, min: 0 });
        c.string(c.field(val, "text", vp), `${vp}.text`);
      });
    });
    if (slots && typeof prompt.length === "number" && slots.length !== prompt.length) {
      c.fail("prompt.slots", `has ${slots.length} slots but prompt.length is ${prompt.length}`);
    }
    const layouts = prompt.layouts === undefined ? undefined : c.object(prompt.layouts, "prompt.layouts");
    if (layouts) {
      const slot = c.field(layouts, "slot", "prompt.layouts");
      if (!slots?.some((s) => isObject(s) && s.name === slot))
        c.fail("prompt.layouts.slot", `${JSON.stringify(slot)} is not a prompt slot`);
      c.array(c.field(layouts, "values", "prompt.layouts"), "prompt.layouts.values")?.forEach((v, j) => {
        const vp = `prompt.layouts.values[${j}]`;
        const val = c.object(v, vp);
        if (!val) return;
        c.number(c.field(val, "id", vp), `${vp}.id`, { integer: true, min: 0 });
        c.string(c.field(val, "text", vp), `${vp}.text`);
        const first = c.field(val, "first", vp);
        if (first !== undefined && first !== "A" && first !== "B")
          c.fail(
            `${vp}.first`,
            `must be "A" or "B" (the subject whose reference comes first), got ${JSON.stringify(first)}`,
          );
      });
    }
  }

  const roles = c.object(c.field(m, "roles", ""), "roles");
  if (roles) checkRoles(c, roles, m);

  if (m.gallery !== undefined) checkGallery(c, m.gallery);
  if (m.evaluators !== undefined) checkEvaluators(c, m.evaluators);
  if (m.scenes !== undefined) checkScenes(c, m.scenes, m);
  if (m.eval !== undefined) c.string(m.eval, "eval", PACK_PATH_PATTERN);

  if (c.issues.length > 0) throw new ManifestError(file, c.issues);
  return m as unknown as Manifest;
}

/** Parses manifest text; JSON syntax errors are reported against the file too. */
export function parseManifest(text: string, file = MANIFEST_FILE): Manifest {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(file, [`${file}: not valid JSON (${(e as Error).message})`]);
  }
  return validateManifest(json, file);
}

/** A file the studio needs from the pack, with the role that owns it. */
export interface PackFile extends FileRef {
  role: RoleName;
  kind: "onnx" | "weights";
}

/** Every ONNX and weights file named by the roles, in role order. */
export function packFiles(manifest: Manifest): PackFile[] {
  const files: PackFile[] = [];
  for (const role of ROLE_NAMES) {
    const spec = manifest.roles[role];
    if (!spec) continue;
    files.push({ role, kind: "onnx", file: spec.file, bytes: spec.bytes, sha256: spec.sha256 });
    const w = spec.weights;
    if (w) files.push({ role, kind: "weights", file: w.file, bytes: w.bytes, sha256: w.sha256 });
  }
  return files;
}

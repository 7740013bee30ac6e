/**
 * The pack's roles (docs/manifest.md): their typed specs, the tensors each takes and gives, and
 * their validation, down to the denoiser's architecture agreeing with its adapter and its inputs.
 */
import { adapterNames, adapterShape, type DenoiserArch, readDenoiserArch } from "../engine/arch";
import { type Checker, checkFileRef, checkPatchLayout, checkTensors, isObject, type Json } from "./check";
import type { Dim, DType, FileRef, Manifest, PatchLayout, TensorSpec } from "./manifest";
import { formatShape } from "./signature";

export const ROLE_NAMES = ["vae_encoder", "vae_decoder", "image_encoder", "denoiser", "patch_encoder"] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export interface RoleSpec extends FileRef {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Every parameter of the network (safetensors, the PyTorch names of foundry/foundry/nets.py). */
  weights?: FileRef;
}

export interface ImageEncoderSpec extends RoleSpec {
  /** Image tokens per reference and their size: the `image_tokens` output is `[batch, tokens, dim]`. */
  tokens: number;
  dim: number;
}

/** `roles.denoiser.architecture` as the manifest spells it (a type alias, so it reads as a plain record). */
export type DenoiserArchitecture = {
  type: "dit";
  width: number;
  depth: number;
  heads: number;
  mlp_ratio: number;
  patch: number;
  tokens: number;
  prompt_vocab: number;
  prompt_length: number;
  image_tokens: number;
  image_dim: number;
  freq_dim: number;
  activation: "gelu_tanh";
  norm_eps: number;
  modulation: "adaLN-zero";
  spatial_prompt: boolean;
};

/** An adapter tensor: float32 with a fixed shape (no batch dimension). */
export interface AdapterTensorSpec {
  name: string;
  dtype: "float32";
  shape: number[];
}

export interface AdapterSpec {
  /** The architecture's `adapterNames`, in order, each `adapterShape`; all of them denoiser inputs. */
  tensors: AdapterTensorSpec[];
  /** The denoiser input that scales the image path, float32 `[1]`. */
  scale_input: string;
}

export interface DenoiserSpec extends RoleSpec {
  /** Holds the base adapter: the tensors of `adapter.tensors`' names. */
  weights: FileRef;
  architecture: DenoiserArchitecture;
  adapter: AdapterSpec;
}

/**
 * `roles.patch_encoder.architecture` (optional): the ViT of foundry/ARCHITECTURE.md, which the
 * engine builds from `weights` to enhance the encoder. Without it the encoder only runs in ONNX.
 */
export type PatchEncoderArchitecture = {
  type: "vit";
  width: number;
  depth: number;
  heads: number;
  mlp_ratio: number;
  patch: number;
  norm_eps: number;
};

export interface PatchEncoderSpec extends RoleSpec, PatchLayout {
  architecture?: PatchEncoderArchitecture;
}

export interface Roles {
  vae_encoder?: RoleSpec;
  vae_decoder?: RoleSpec;
  image_encoder?: ImageEncoderSpec;
  denoiser?: DenoiserSpec;
  patch_encoder?: PatchEncoderSpec;
}

/**
 * The tensors each role takes and gives, by the names docs/manifest.md fixes; the denoiser also
 * takes `adapter.scale_input` and every adapter tensor. A role lists exactly these.
 */
export const ROLE_IO = {
  vae_encoder: { inputs: ["image"], outputs: ["latent"] },
  vae_decoder: { inputs: ["latent"], outputs: ["image"] },
  image_encoder: { inputs: ["image"], outputs: ["image_tokens"] },
  denoiser: { inputs: ["latent", "timestep", "prompt_ids", "image_tokens"], outputs: ["eps"] },
  patch_encoder: { inputs: ["image"], outputs: ["features"] },
} as const satisfies Record<RoleName, { inputs: readonly string[]; outputs: readonly string[] }>;

export type RoleInputName<R extends RoleName> = (typeof ROLE_IO)[R]["inputs"][number];
export type RoleOutputName<R extends RoleName> = (typeof ROLE_IO)[R]["outputs"][number];

/** The role's spec; refuses a pack without it. */
export function requireRole<R extends RoleName>(manifest: Manifest, role: R): NonNullable<Roles[R]> {
  const spec = manifest.roles[role];
  if (!spec) throw new Error(`pack "${manifest.id}" has no ${role}`);
  return spec;
}

function tensorNamed(manifest: Manifest, role: RoleName, kind: "inputs" | "outputs", name: string): TensorSpec {
  const t = requireRole(manifest, role)[kind].find((x) => x.name === name);
  if (!t) throw new Error(`manifest.json: roles.${role}.${kind}: missing the tensor "${name}"`);
  return t;
}

/** A role's input by its contract name (validation guarantees that the role lists it). */
export function roleInput<R extends RoleName>(manifest: Manifest, role: R, name: RoleInputName<R>): TensorSpec {
  return tensorNamed(manifest, role, "inputs", name);
}

/** A role's output by its contract name (validation guarantees that the role lists it). */
export function roleOutput<R extends RoleName>(manifest: Manifest, role: R, name: RoleOutputName<R>): TensorSpec {
  return tensorNamed(manifest, role, "outputs", name);
}

// ---- validation -------------------------------------------------------------------------------

interface Port {
  dtype: DType;
  /** Checked when the manifest's other sections fix it. */
  shape?: Dim[];
}

/** Contract tensor shapes by name, from the sections of the manifest that are valid. */
type Shapes = Partial<Record<string, Dim[]>>;

const isCount = (v: Json): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;

/** The manifest's latent section when it is valid (else that problem is reported at `latent`). */
function latentOf(m: Record<string, Json>): { channels: number; height: number; width: number } | undefined {
  const l = m.latent;
  return isObject(l) && isCount(l.channels) && isCount(l.height) && isCount(l.width)
    ? { channels: l.channels, height: l.height, width: l.width }
    : undefined;
}

function topShapes(m: Record<string, Json>): Shapes {
  const shapes: Shapes = { timestep: ["batch"] };
  const { image, prompt } = m;
  const latent = latentOf(m);
  if (isObject(image) && isCount(image.channels) && isCount(image.size))
    shapes.image = ["batch", image.channels, image.size, image.size];
  if (latent) shapes.latent = shapes.eps = ["batch", latent.channels, latent.height, latent.width];
  if (isObject(prompt) && isCount(prompt.length)) shapes.prompt_ids = ["batch", prompt.length];
  return shapes;
}

const sameShape = (a: readonly Dim[], b: readonly Dim[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Every expected tensor is listed with its dtype and shape, and nothing else is. */
function checkPorts(c: Checker, list: TensorSpec[], path: string, expected: Map<string, Port>, takes: string): void {
  list.forEach((t, i) => {
    const port = expected.get(t.name);
    if (!port) c.fail(`${path}[${i}].name`, `unexpected tensor "${t.name}"; the role ${takes}`);
    else if (t.dtype !== port.dtype) c.fail(`${path}[${i}].dtype`, `expected "${port.dtype}"`);
    else if (port.shape && !sameShape(t.shape, port.shape))
      c.fail(`${path}[${i}].shape`, `expected ${formatShape(port.shape)}`);
  });
  for (const name of expected.keys()) {
    if (!list.some((t) => t.name === name)) c.fail(path, `missing the tensor "${name}"`);
  }
}

function contract(names: readonly string[], shapes: Shapes): Map<string, Port> {
  return new Map(names.map((n) => [n, { dtype: n === "prompt_ids" ? "int64" : "float32", shape: shapes[n] }]));
}

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(", ");

function checkImageEncoder(c: Checker, obj: Record<string, Json>, path: string): Dim[] | undefined {
  const { tokens, dim } = obj;
  c.number(c.field(obj, "tokens", path), `${path}.tokens`, { integer: true, min: 1 });
  c.number(c.field(obj, "dim", path), `${path}.dim`, { integer: true, min: 1 });
  return isCount(tokens) && isCount(dim) ? ["batch", tokens, dim] : undefined;
}

/** The adapter is the architecture's: its names in order, its shapes, float32. */
function checkAdapterAgreement(c: Checker, tensors: TensorSpec[], arch: DenoiserArch, path: string): void {
  const names = adapterNames(arch);
  const shape = adapterShape(arch);
  if (tensors.length !== names.length) {
    c.fail(
      path,
      `expected ${names.length} tensors (to_k_ip and to_v_ip of each of architecture.depth = ${arch.depth} blocks), found ${tensors.length}`,
    );
    return;
  }
  tensors.forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (t.name !== names[i]) c.fail(`${p}.name`, `expected "${names[i]}", the architecture's adapter tensor ${i}`);
    if (!sameShape(t.shape, shape))
      c.fail(`${p}.shape`, `expected ${formatShape(shape)}, [architecture.width, architecture.image_dim]`);
    if (t.dtype !== "float32") c.fail(`${p}.dtype`, 'expected "float32"');
  });
}

/**
 * The denoiser's architecture (as the engine reads it), adapter and weights; returns what its
 * inputs must then hold besides the contract: the image tokens' shape and the adapter's inputs.
 */
function checkDenoiser(
  c: Checker,
  obj: Record<string, Json>,
  path: string,
  m: Record<string, Json>,
): { imageTokens?: Dim[]; inputs: [string, Port][] } {
  const a = c.object(c.field(obj, "architecture", path), `${path}.architecture`);
  const latent = latentOf(m);
  // The architecture is read against the latent; without a valid one, only `latent` is reported.
  const arch = a && latent ? readDenoiserArch(a, latent, (p, problem) => c.fail(p, problem)) : undefined;
  const { prompt } = m;
  if (arch && isObject(prompt) && isCount(prompt.length) && arch.promptLength !== prompt.length)
    c.fail(`${path}.architecture.prompt_length`, `expected ${prompt.length}, prompt.length`);

  const inputs: [string, Port][] = [];
  const adapter = c.object(c.field(obj, "adapter", path), `${path}.adapter`);
  if (adapter) {
    const before = c.issues.length;
    const tensors = c.field(adapter, "tensors", `${path}.adapter`);
    const scale = c.field(adapter, "scale_input", `${path}.adapter`);
    checkTensors(c, tensors, `${path}.adapter.tensors`, true);
    c.string(scale, `${path}.adapter.scale_input`);
    if (c.issues.length === before) {
      const list = tensors as TensorSpec[];
      if (arch) checkAdapterAgreement(c, list, arch, `${path}.adapter.tensors`);
      inputs.push([scale as string, { dtype: "float32", shape: [1] }]);
      for (const t of list) inputs.push([t.name, { dtype: t.dtype, shape: t.shape }]);
    }
  }
  const keys: Dim = arch && arch.maxReferences > 1 ? "image_tokens" : (arch?.imageTokens ?? 0);
  return { imageTokens: arch && ["batch", keys, arch.imageDim], inputs };
}

/** An optional ViT architecture: whole sizes, heads dividing the width, patches tiling the image into `grid`, and weights to build it from. */
function checkVitArchitecture(c: Checker, obj: Record<string, Json>, path: string, m: Record<string, Json>): void {
  if (obj.architecture === undefined) return;
  const p = `${path}.architecture`;
  const a = c.object(obj.architecture, p);
  if (!a) return;
  c.oneOf(c.field(a, "type", p), `${p}.type`, ["vit"]);
  for (const key of ["width", "depth", "heads", "mlp_ratio", "patch"])
    c.number(c.field(a, key, p), `${p}.${key}`, { integer: true, min: 1 });
  const eps = c.field(a, "norm_eps", p);
  if (typeof eps !== "number" || !(eps > 0)) c.fail(`${p}.norm_eps`, "expected a positive number");
  if (!isObject(obj.weights))
    c.fail(`${path}.weights`, "required with an architecture: the engine builds the ViT from it");
  const { width, heads, patch } = a;
  if (isCount(width) && isCount(heads) && width % heads !== 0)
    c.fail(`${p}.heads`, `expected a divisor of architecture.width = ${width}`);
  const size = isObject(m.image) ? m.image.size : undefined;
  const grid = obj.grid;
  if (isCount(patch) && isCount(size) && Array.isArray(grid) && grid.some((g) => g !== size / patch))
    c.fail(`${p}.patch`, `expected image.size / grid = ${size} / ${grid[0]}`);
}

function checkRole(c: Checker, role: RoleName, v: Json, m: Record<string, Json>): void {
  const path = `roles.${role}`;
  const obj = c.object(v, path);
  if (!obj) return;
  const before = c.issues.length;
  checkFileRef(c, obj, path);
  checkTensors(c, c.field(obj, "inputs", path), `${path}.inputs`, false);
  checkTensors(c, c.field(obj, "outputs", path), `${path}.outputs`, false);
  // The denoiser's weights hold the base adapter (and everything training starts from).
  const weights = role === "denoiser" ? c.field(obj, "weights", path) : obj.weights;
  const w = c.object(weights, `${path}.weights`);
  if (w) checkFileRef(c, w, `${path}.weights`);

  const shapes = topShapes(m);
  const io = ROLE_IO[role];
  let takes = `takes ${quoted(io.inputs)}`;
  let extraInputs: [string, Port][] = [];
  if (role === "image_encoder") shapes.image_tokens = checkImageEncoder(c, obj, path);
  if (role === "patch_encoder") {
    checkPatchLayout(c, obj, path);
    checkVitArchitecture(c, obj, path, m);
  }
  if (role === "denoiser") {
    const den = checkDenoiser(c, obj, path, m);
    shapes.image_tokens = den.imageTokens;
    extraInputs = den.inputs;
    takes += ", adapter.scale_input and adapter.tensors";
  }
  // The contract is checked on a role whose fields are sound, so each problem is reported once.
  if (c.issues.length > before) return;
  const inputs = contract(io.inputs, shapes);
  for (const [name, port] of extraInputs) inputs.set(name, port);
  checkPorts(c, obj.inputs as TensorSpec[], `${path}.inputs`, inputs, takes);
  checkPorts(
    c,
    obj.outputs as TensorSpec[],
    `${path}.outputs`,
    contract(io.outputs, shapes),
    `gives ${quoted(io.outputs)}`,
  );
}

/** `roles`: known roles only, each complete and as its contract says. */
export function checkRoles(c: Checker, roles: Record<string, Json>, m: Record<string, Json>): void {
  const names = Object.keys(roles);
  if (names.length === 0) c.fail("roles", "expected at least one role");
  for (const role of names) {
    if (!(ROLE_NAMES as readonly string[]).includes(role)) {
      c.fail(`roles.${role}`, `unknown role; expected one of ${ROLE_NAMES.join(", ")}`);
      continue;
    }
    checkRole(c, role as RoleName, roles[role], m);
  }
}

/**
 * The files of a transformers.js / Optimum model folder: `config.json`, `preprocessor_config.json`
 * and the ONNX exports under `onnx/` (`model.onnx`, `model_fp16.onnx`, `model_quantized.onnx`;
 * CLIP and SigLIP folders: `vision_model*.onnx`), each possibly with external data
 * (`model.onnx` + `model.onnx_data`). Which export to run depends on the backend.
 */
import { CONFIG_FILE, HfConfigError, type HfFamily, PREPROCESSOR_FILE } from "./hf";

export const ONNX_VARIANTS = ["fp32", "fp16", "quantized"] as const;
export type OnnxVariant = (typeof ONNX_VARIANTS)[number];

const SUFFIX: Record<OnnxVariant, string> = { fp32: "", fp16: "_fp16", quantized: "_quantized" };

/** Where the backend runs ONNX models, and whether its WebGPU adapter has `shader-f16`. */
export interface Backend {
  provider: "webgpu" | "wasm";
  shaderF16: boolean;
}

/** Variants in order of preference: fp16 on WebGPU with shader-f16, int8 on WASM, fp32 otherwise. */
export function variantOrder(b: Backend): OnnxVariant[] {
  if (b.provider === "wasm") return ["quantized", "fp32", "fp16"];
  return b.shaderF16 ? ["fp16", "fp32", "quantized"] : ["fp32", "quantized", "fp16"];
}

/** Model base names to look for, the one the family's image encoder usually has first. */
export function modelBaseNames(family: HfFamily): string[] {
  return family === "dino" ? ["model", "vision_model"] : ["vision_model", "model"];
}

export interface ModelFile {
  /** Folder-relative path, e.g. `onnx/model_fp16.onnx`. */
  file: string;
  variant: OnnxVariant;
}

/** Every known export in `onnx/` (or, failing that, beside config.json), in the family's order. */
export function modelFiles(paths: readonly string[], family: HfFamily): ModelFile[] {
  const present = new Set(paths);
  for (const dir of ["onnx/", ""]) {
    const found: ModelFile[] = [];
    for (const base of modelBaseNames(family)) {
      for (const variant of ONNX_VARIANTS) {
        const file = `${dir}${base}${SUFFIX[variant]}.onnx`;
        if (present.has(file)) found.push({ file, variant });
      }
      // One base name: a CLIP folder's model.onnx is the whole dual encoder, not the image part.
      if (found.length) return found;
    }
  }
  const other = paths.filter((p) => p.endsWith(".onnx"));
  throw new HfConfigError(
    `no ONNX model in onnx/: expected ${modelBaseNames(family)
      .map((b) => `onnx/${b}.onnx`)
      .join(" or ")} (or its _fp16 / _quantized export)${other.length ? `; found only ${other.join(", ")}` : ""}`,
  );
}

/** The export to run on `backend` among those present, falling back along variantOrder. */
export function chooseModelFile(files: readonly ModelFile[], backend: Backend): ModelFile {
  for (const v of variantOrder(backend)) {
    const f = files.find((m) => m.variant === v);
    if (f) return f;
  }
  throw new HfConfigError("no ONNX model to choose from");
}

/** Candidate paths of one variant, for a URL source that cannot list its folder. */
export function modelUrlCandidates(family: HfFamily, backend: Backend): ModelFile[] {
  return variantOrder(backend).flatMap((variant) =>
    modelBaseNames(family).map((base) => ({ file: `onnx/${base}${SUFFIX[variant]}.onnx`, variant })),
  );
}

/** The folder-relative path of a model's external data file `location` (relative to the model). */
export function externalDataPath(modelFile: string, location: string): string {
  const dir = modelFile.includes("/") ? modelFile.slice(0, modelFile.lastIndexOf("/") + 1) : "";
  const parts: string[] = [];
  for (const p of `${dir}${location}`.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (!parts.length) throw new HfConfigError(`${modelFile}: external data "${location}" lies outside the folder`);
      parts.pop();
    } else parts.push(p);
  }
  return parts.join("/");
}

/** An external data file: `location` as the model names it, `file` its folder-relative path. */
export interface ExternalData {
  location: string;
  file: string;
}

/** The model's external data files; throws naming the model file and every one that is missing. */
export function checkExternalData(
  modelFile: string,
  locations: readonly string[],
  present: ReadonlySet<string>,
): ExternalData[] {
  const data = locations.map((location) => ({ location, file: externalDataPath(modelFile, location) }));
  const missing = data.filter((d) => !present.has(d.file)).map((d) => d.location);
  if (missing.length) {
    throw new HfConfigError(
      `${modelFile} keeps its weights in external data ${missing.map((m) => `"${m}"`).join(", ")}, which is not in the folder; ` +
        `add ${missing.length > 1 ? "those files" : "that file"} beside it`,
    );
  }
  return data;
}

/**
 * The folder's root: the folder holding the shallowest config.json that has a
 * preprocessor_config.json or an onnx/ folder beside it (or the shallowest config.json), so
 * dropping either the model folder or its contents works. Paths come back root-relative.
 */
export function folderRoot(paths: readonly string[]): { root: string; files: string[] } {
  const configs = paths
    .filter((p) => p === CONFIG_FILE || p.endsWith(`/${CONFIG_FILE}`))
    .map((p) => p.slice(0, -CONFIG_FILE.length))
    .sort((a, b) => a.split("/").length - b.split("/").length);
  if (!configs.length) {
    throw new HfConfigError(
      `${CONFIG_FILE}: missing; choose the model folder (config.json, ${PREPROCESSOR_FILE}, onnx/)`,
    );
  }
  const fits = (root: string) =>
    paths.includes(`${root}${PREPROCESSOR_FILE}`) || paths.some((p) => p.startsWith(`${root}onnx/`));
  const root = configs.find(fits) ?? configs[0];
  return { root, files: paths.filter((p) => p.startsWith(root)).map((p) => p.slice(root.length)) };
}

/** A cache id from the folder or URL name: lowercase, [a-z0-9_-]. */
export function encoderId(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return id || "encoder";
}

/**
 * A first draft of the hand-written encoder description (docs/manifest.md, "user encoders") for an
 * ONNX model that is not a known Hugging Face folder, from the model's own inputs and outputs:
 * names and static sizes are read, the rest (token layout, CLS tokens, pixel range) is guessed and
 * listed in `guessed` for the user to check.
 */
import type { ValueInfo } from "../pack/signature";

export interface DraftDescription {
  description: Record<string, unknown>;
  /** Fields taken from the model's signature. */
  read: string[];
  /** Fields that are guesses or defaults. */
  guessed: string[];
}

const fixed = (d: number | string | undefined): number | undefined => (typeof d === "number" && d > 0 ? d : undefined);

export function draftDescription(
  file: string,
  inputs: readonly ValueInfo[],
  outputs: readonly ValueInfo[],
): DraftDescription {
  const read: string[] = ["file"];
  const guessed: string[] = [];
  const input = inputs.find((v) => v.shape?.length === 4) ?? inputs[0];
  const d: Record<string, unknown> = { file };
  if (input) {
    d.input = input.name;
    read.push("input");
  }
  const [, , h, w] = input?.shape ?? [];
  if (fixed(h) && fixed(h) === fixed(w)) {
    d.image_size = h;
    read.push("image_size");
  } else {
    d.image_size = 224;
    guessed.push("image_size (the model's input size is dynamic)");
  }
  const size = d.image_size as number;
  const features =
    outputs.find((v) => v.shape?.length === 3) ?? outputs.find((v) => v.shape?.length === 4) ?? outputs[0];
  if (features) {
    d.output = features.name;
    read.push("output");
  }
  d.range = [0, 1];
  guessed.push("range");
  const s = features?.shape ?? [];
  if (s.length === 4) {
    const [, a, b, c] = s.map(fixed);
    if (b !== undefined && b === c && a !== b) {
      Object.assign(d, { grid: [b, c], dim: a ?? 0, output_layout: "BDHW" });
    } else {
      Object.assign(d, { grid: [a ?? 0, b ?? 0], dim: c ?? 0, output_layout: "BHWD" });
    }
    read.push("grid", "dim", "output_layout");
  } else {
    d.output_layout = "BTD";
    const tokens = fixed(s[1]);
    const dim = fixed(s[2]);
    d.dim = dim ?? 0;
    if (dim) read.push("dim");
    else guessed.push("dim");
    if (tokens) {
      // CLS / register tokens: what is left over after the largest square grid.
      const g = Math.floor(Math.sqrt(tokens));
      d.grid = [g, g];
      d.skip_tokens = tokens - g * g;
    } else {
      const g = Math.max(1, Math.round(size / 16));
      d.grid = [g, g];
      d.skip_tokens = 1;
    }
    guessed.push("grid", "skip_tokens", "output_layout");
  }
  const embedding = outputs.find((v) => v !== features && v.shape?.length === 2);
  if (embedding) {
    d.embedding_output = embedding.name;
    guessed.push("embedding_output");
  }
  return { description: d, read, guessed };
}

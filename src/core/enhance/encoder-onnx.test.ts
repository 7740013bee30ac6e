import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { loadSafetensors, packPath, readManifest } from "../../../node/packs";
import { relError } from "../engine/testing/tiny";
import { CpuVit, initVit, vitArch } from "../engine/vit";
import { requireRole } from "../pack/roles";
import { gaussian } from "../sampling/rng";
import { EncoderOnnxError, withEncoderWeights } from "./encoder-onnx";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`public/models/${p}/patch_encoder.onnx`));

describe.each(packs)("an enhanced encoder as the pack's ONNX with its weights rewritten: %s", (pack) => {
  const manifest = readManifest(pack);
  const role = requireRole(manifest, "patch_encoder");
  const model = new Uint8Array(readFileSync(`${packPath(pack)}/${role.file}`));
  const { tensors } = loadSafetensors(`${packPath(pack)}/${role.weights?.file}`);
  const packWeights = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const arch = vitArch(manifest);

  it("runs in onnxruntime-web and matches the CPU engine on the new weights (rel 1e-5)", async () => {
    const other = initVit(arch, 3);
    const session = await ort.InferenceSession.create(withEncoderWeights(model, packWeights, other));
    try {
      const S = arch.image;
      const images = gaussian(2, 2 * 3 * S * S).map((v) => Math.tanh(v));
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", images, [2, 3, S, S]) });
      const got = out[session.outputNames[0]].data as Float32Array;
      expect(relError(got, new CpuVit(arch, other).forward(images).features)).toBeLessThan(1e-5);
      expect(relError(got, new CpuVit(arch, packWeights).forward(images).features)).toBeGreaterThan(0.1);
    } finally {
      await session.release();
    }
  });

  it("refuses a model that is not the export of the pack's weights, naming the weights", () => {
    const changed = new Map(packWeights);
    changed.set(
      "layers.0.fc1.weight",
      (changed.get("layers.0.fc1.weight") as Float32Array).map((v) => v + 1),
    );
    expect(() => withEncoderWeights(model, changed, changed)).toThrow(EncoderOnnxError);
    expect(() => withEncoderWeights(model, changed, changed)).toThrow("layers.0.fc1.weight");
  });
});

import { readFileSync } from "node:fs";
import { denoiserArch } from "../src/core/engine/arch";
import { CpuTrainer } from "../src/core/engine/trainer";
import { parseSafetensors } from "../src/core/safetensors";
import { peerStep } from "./peer/batch";

const dir = "public/models/emoji64/";
const manifest = JSON.parse(readFileSync(dir + "manifest.json", "utf8"));
const arch = denoiserArch(manifest);
const { tensors } = parseSafetensors(new Uint8Array(readFileSync(dir + manifest.roles.denoiser.weights.file)));
const weights = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
const { batch, objective } = peerStep(arch, manifest.scheduler, 4);
console.log("items", batch.inputs.timestep.length, objective);
const cpu = new CpuTrainer(arch, weights);
const opts = { lr: 3e-5, weightDecay: 0.01, maxNorm: 1 };
const ts: number[] = [];
for (let i = 0; i < 25; i++) {
  const t = performance.now();
  cpu.trainStep(batch, opts, objective);
  ts.push(performance.now() - t);
}
ts.sort((a, b) => a - b);
console.log("min", ts[0].toFixed(1), "med", ts[12].toFixed(1));

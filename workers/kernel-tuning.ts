/**
 * Which matmul variant the WGSL engine uses on this adapter: timed on the adapter at its first
 * training run (src/gpu/kernels/matmul.ts `timeMatmulVariants`) and kept per adapter in
 * IndexedDB. A software adapter runs the register tile untimed: it is built for CPU emulation,
 * and compiling the shared variant alone costs SwiftShader seconds.
 */
import { fasterBy } from "../src/core/timing";
import type { GpuContext } from "../src/gpu/context";
import { isSoftwareAdapter } from "../src/gpu/device";
import { type MatmulVariant, timeMatmulVariants } from "../src/gpu/kernels/matmul";
import { recalled, remember } from "./measured-choices";

interface Tuned {
  matmul: MatmulVariant;
  reason: string;
}

/** Sets `ctx.tuning` for this adapter and says how it was chosen. */
export async function tuneKernels(ctx: GpuContext): Promise<string> {
  if (isSoftwareAdapter(ctx.adapter)) {
    ctx.tuning.matmul = "register";
    return "matmul: register tile (software adapter, not timed)";
  }
  const key = `${ctx.adapter.name}|${ctx.adapter.description}`;
  const known = await recalled<Tuned>("kernels", key);
  if (known) {
    ctx.tuning.matmul = known.matmul;
    return `${known.reason}, measured earlier here`;
  }
  const ms = await timeMatmulVariants(ctx);
  const [fast, slow] = (Object.entries(ms) as [MatmulVariant, number][]).sort((x, y) => x[1] - y[1]);
  const reason = `matmul: ${fast[0]} tile, ${fasterBy(slow[1], fast[1])} than ${slow[0]} here`;
  ctx.tuning.matmul = fast[0];
  await remember<Tuned>("kernels", key, { matmul: fast[0], reason });
  return reason;
}

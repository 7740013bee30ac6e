/** How adapter and enhancement runs in the training worker tell a lost GPU device from a failure. */
import type { GpuContext } from "../src/gpu/context";
import { GpuDeviceLostError } from "../src/gpu/errors";

/** Lost devices a run survives (re-creating its engine each time) before it stops. */
const MAX_DEVICE_LOSSES = 3;

/**
 * Why a run's step failed, and whether it resumes on a new device from its last checkpoint: only
 * after a lost device, fewer than MAX_DEVICE_LOSSES times, and while the run was not stopped.
 * device.lost may resolve a little after the failing call rejects: explain() waits for it.
 */
export async function stepFailure(
  ctx: GpuContext | null,
  e: unknown,
  losses: number,
  signal: AbortSignal,
): Promise<{ resume: boolean; why: string }> {
  const explained = ctx ? await ctx.explain(e) : e;
  const lost = explained instanceof GpuDeviceLostError ? explained : undefined;
  const why = lost ? `The GPU device was lost (${lost.message})` : (e as Error).message;
  return { resume: !!lost && losses < MAX_DEVICE_LOSSES && !signal.aborted, why };
}

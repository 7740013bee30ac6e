/** Timing helpers shared by the benchmarks and the measured "auto" choices (browser and Node). */

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median wall time of `runs` calls after `warmup` untimed ones; awaits each call. */
export async function medianMs(run: () => unknown, warmup: number, runs: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** "3.2× faster" (whole numbers from 10×): how a measured choice names its margin. */
export function fasterBy(slowMs: number, fastMs: number): string {
  const ratio = slowMs / fastMs;
  return `${ratio.toFixed(ratio < 10 ? 1 : 0)}× faster`;
}

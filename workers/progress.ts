/** Limits how often progress crosses the worker boundary; phase changes always go through. */
export function throttleProgress<P extends { phase: string }>(send: (p: P) => void, intervalMs = 50): (p: P) => void {
  let last = 0;
  let lastPhase = "";
  return (p) => {
    const now = performance.now();
    if (p.phase === lastPhase && now - last < intervalMs) return;
    last = now;
    lastPhase = p.phase;
    send(p);
  };
}

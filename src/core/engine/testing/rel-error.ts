/**
 * max |got − want| / max |want| (the denominator at least 1e-6, for an all-zero golden): the
 * relative error the engine and parity tests bound. Pure, so pages (the bench's peer) load it too.
 */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / Math.max(den, 1e-6);
}

/** Seed lists as typed in the Dataset tab: "1, 2, 5-8". */

const MAX_SEEDS = 256;

/** Parses comma-separated uint32 seeds and inclusive ranges; throws a message naming the bad part. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a seed or a range like 1-4`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`range "${part}" runs backwards`);
    if (hi > 0xffffffff) throw new Error(`seed ${hi} is larger than 4294967295`);
    if (seeds.length + hi - lo + 1 > MAX_SEEDS) throw new Error(`more than ${MAX_SEEDS} seeds`);
    for (let s = lo; s <= hi; s++) if (!seeds.includes(s)) seeds.push(s);
  }
  if (seeds.length === 0) throw new Error("give at least one seed");
  return seeds;
}

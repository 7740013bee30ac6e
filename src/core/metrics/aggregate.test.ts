import { describe, expect, it } from "vitest";
import {
  type ImageRecord,
  overall,
  pairedOverSubjects,
  pairedTable,
  perSeed,
  subjectMeans,
  summarize,
  tInterval,
  tQuantile975,
} from "./aggregate";

const rec = (method: string, subject: string, prompt: string, seed: number, q: number): ImageRecord => ({
  method,
  subject,
  prompt,
  seed,
  metrics: { q },
});

// Subject a has 2 prompts × 2 seeds, subject b 1 prompt × 2 seeds: per-image averaging would weight a twice.
const base: ImageRecord[] = [
  rec("base", "a", "p1", 1, 0.2),
  rec("base", "a", "p2", 1, 0.4),
  rec("base", "a", "p1", 2, 0.6),
  rec("base", "a", "p2", 2, 0.8),
  rec("base", "b", "p1", 1, 0.1),
  rec("base", "b", "p1", 2, 0.3),
];
const better = base.map((r) => ({ ...r, method: "ours", metrics: { q: r.metrics.q + (r.seed === 1 ? 0.1 : 0.3) } }));

describe("official averaging", () => {
  it("averages per subject, then over subjects", () => {
    expect(subjectMeans(base, "q")).toEqual({ a: expect.closeTo(0.5, 12), b: expect.closeTo(0.2, 12) });
    // (0.5 + 0.2) / 2 = 0.35, not the per-image mean 2.4 / 6 = 0.4.
    expect(overall(base, "q")).toBeCloseTo(0.35, 12);
  });

  it("averages each seed the same way", () => {
    // seed 1: a = 0.3, b = 0.1 → 0.2; seed 2: a = 0.7, b = 0.3 → 0.5.
    const s = perSeed(base, "q");
    expect(s["1"]).toBeCloseTo(0.2, 12);
    expect(s["2"]).toBeCloseTo(0.5, 12);
  });

  it("skips records without the metric (scene metrics exist only where the kit covers the subject)", () => {
    const mixed = [...base, { ...base[0], subject: "c", metrics: {} }];
    expect(overall(mixed, "q")).toBeCloseTo(0.35, 12);
  });
});

describe("intervals", () => {
  it("t quantiles: table and large-df approximation", () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(60)).toBeCloseTo(2.0, 2);
    expect(() => tQuantile975(0)).toThrow(RangeError);
  });

  it("t-interval over per-seed values, by hand", () => {
    // values 1, 2, 3: mean 2, sd 1, half-width 4.303 / √3 = 2.48434
    const i = tInterval([1, 2, 3]);
    expect(i.mean).toBe(2);
    expect(i.ci95?.[0]).toBeCloseTo(2 - 2.484338, 5);
    expect(i.ci95?.[1]).toBeCloseTo(2 + 2.484338, 5);
    expect(tInterval([5]).ci95).toBeNull();
  });

  it("summarizes methods with paired deltas against the baseline", () => {
    const t = summarize([...better, ...base], ["q"], "base");
    // base per-seed 0.2, 0.5: mean 0.35, sd 0.212132, half-width 12.706·0.212132/√2 = 1.905900
    expect(t.base.q.mean).toBeCloseTo(0.35, 12);
    expect(t.base.q.ci95?.[1]).toBeCloseTo(0.35 + 1.9059, 4);
    expect(t.base.q.n).toBe(2);
    // ours: +0.1 on seed 1, +0.3 on seed 2 → delta 0.2, per-seed diffs sd 0.141421, half-width 1.270600
    const d = t.ours.q.delta;
    expect(d?.mean).toBeCloseTo(0.2, 12);
    expect(d?.ci95?.[0]).toBeCloseTo(0.2 - 1.2706, 4);
    expect(d?.perSubject).toEqual({ a: expect.closeTo(0.2, 12), b: expect.closeTo(0.2, 12) });
    expect(t.base.q.delta).toBeUndefined();
  });
});

describe("paired differences over subjects", () => {
  it("differences per-subject means, then a t-interval over subjects", () => {
    // ours − base: subject a +0.2 (both seeds averaged), subject b +0.2: mean 0.2, sd 0 → [0.2, 0.2].
    const d = pairedOverSubjects([...better, ...base], "q", "ours", "base");
    expect(d.n).toBe(2);
    expect(d.mean).toBeCloseTo(0.2, 12);
    expect(d.ci95?.[0]).toBeCloseTo(0.2, 12);
    // A third subject where ours loses 0.4: diffs 0.2, 0.2, −0.4, mean 0, sd 0.34641, half-width 4.303·0.34641/√3.
    const c = [rec("base", "c", "p1", 1, 0.5), rec("ours", "c", "p1", 1, 0.1)];
    const e = pairedOverSubjects([...better, ...base, ...c], "q", "ours", "base");
    expect(e.n).toBe(3);
    expect(e.mean).toBeCloseTo(0, 12);
    expect(e.ci95?.[1]).toBeCloseTo((4.303 * 0.34641016) / Math.sqrt(3), 5);
  });

  it("tables every method against each other method that ran, never against itself", () => {
    const t = pairedTable([...better, ...base], ["q"], ["base", "dpo"]);
    expect(Object.keys(t.ours)).toEqual(["vs_base"]);
    expect(t.base).toEqual({});
    expect(t.ours.vs_base.q.mean).toBeCloseTo(0.2, 12);
  });
});

import { describe, expect, it } from "vitest";
import { datasetStats } from "./stats";
import type { PreferenceDataset } from "./types";

const f = (...v: number[]) => Float32Array.from(v);

describe("datasetStats", () => {
  it("averages per sample, per reference and overall, and bins every patch", () => {
    const ds = {
      packId: "t",
      grid: { height: 1, width: 2 },
      references: [{ id: "a" }, { id: "b" }],
      samples: [
        { ref: 0, mGen: f(0.2, 0.4), mRef: f(1, 1) },
        { ref: 0, mGen: f(0.8, 1), mRef: f(0, 0) },
        { ref: 1, mGen: f(-1, 0), mRef: f(0.5, 0.5) },
      ],
    } as unknown as PreferenceDataset;
    const s = datasetStats(ds, 4);
    expect(s.samples.map((x) => x.gen)).toEqual([0.3, 0.9, -0.5].map((v) => expect.closeTo(v, 6)));
    expect(s.references[0]).toMatchObject({
      id: "a",
      samples: 2,
      worst: expect.closeTo(0.3, 6),
      best: expect.closeTo(0.9, 6),
    });
    expect(s.references[0].gen).toBeCloseTo(0.6, 6);
    expect(s.references[1].ref).toBeCloseTo(0.5, 6);
    expect(s.gen).toBeCloseTo(0.7 / 3, 6);
    // Bins of [-1, 1] by 0.5: -1 | 0 0.2 0.4 | 0.8 1 (1 is clamped into the last bin).
    expect([...s.genHistogram.counts]).toEqual([1, 0, 3, 2]);
    expect(s.refHistogram.count).toBe(6);
  });
});

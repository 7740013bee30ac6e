import { describe, expect, it } from "vitest";
import { itemErrorSeries, lossSeries } from "./chart-series";
import { DEFAULT_TRAIN_CONFIG, type StepReport, type TrainConfig } from "./loop";

const report = (step: number, itemErrors?: number[], part?: StepReport["part"]): StepReport => ({
  step,
  loss: step,
  lr: 1e-3,
  ms: 1,
  itemErrors,
  ...(part ? { part } : {}),
});
const config = (batchSize: number, useReference = true): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  batchSize,
  loss: { ...DEFAULT_TRAIN_CONFIG.loss, useReference },
});

describe("itemErrorSeries", () => {
  it("names one subject's reference and generated items, averaged over the draws", () => {
    const history = [report(1, [1, 2, 3, 4]), report(2)];
    expect(itemErrorSeries(history, config(2))).toEqual([
      { label: "reference", values: [2, null] },
      { label: "generated", values: [3, null] },
    ]);
  });

  it("splits a two-subject run's alternating steps into generated, reference A and reference B", () => {
    const history = [
      report(1, [5, 7], "generated"),
      report(2, [1, 2, 3, 4], "references"),
      report(3, [6, 8], "generated"),
    ];
    expect(itemErrorSeries(history, config(2))).toEqual([
      { label: "generated", values: [6, null, 7] },
      { label: "reference A", values: [null, 2, null] },
      { label: "reference B", values: [null, 3, null] },
    ]);
  });

  it("draws a two-subject run's loss as two curves, one per part, and one run's loss as one", () => {
    const history = [
      report(1, [], "generated"),
      report(2, [], "references"),
      report(3, [], "generated"),
      report(4, [], "references"),
    ];
    expect(lossSeries(history)).toEqual([
      { label: "generated steps", values: [1, null, 3, null] },
      { label: "reference steps", values: [null, 2, null, 4] },
    ]);
    expect(lossSeries([report(1, [1, 2]), report(2)])).toEqual([{ label: "loss", values: [1, 2] }]);
  });

  it("numbers the items of a run without the reference term", () => {
    expect(itemErrorSeries([report(1, [0.5])], config(1, false))).toEqual([{ label: "item 1", values: [0.5] }]);
  });
});

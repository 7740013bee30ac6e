import { describe, expect, it } from "vitest";
import { parseTrainingLog } from "./log";

const line = (r: object) => JSON.stringify({ step: 1, loss: 0.5, lr: 1e-3, ms: 12, ...r });

describe("parseTrainingLog", () => {
  it("reads the PyTorch trainer's log.jsonl lines", () => {
    const text = `${line({ gradNorm: 0.1, itemErrors: [1, 2] })}\n${line({ step: 2, margin: 0 })}\n`;
    const log = parseTrainingLog(text);
    expect(log.map((r) => r.step)).toEqual([1, 2]);
    expect(log[0].itemErrors).toEqual([1, 2]);
    expect(log[1].margin).toBe(0);
  });

  it.each([
    ["not JSON", "{oops", /line 1 is not JSON/],
    ["no loss", JSON.stringify({ step: 1, lr: 1, ms: 1 }), /needs an integer "step" and numbers/],
    ["a text grad norm", line({ gradNorm: "big" }), /"gradNorm" must be a number/],
    ["bad item errors", line({ itemErrors: [1, "x"] }), /"itemErrors" must be a list of numbers/],
    ["an unknown part", line({ part: "both" }), /"part" must be "generated" or "references"/],
    ["steps out of order", `${line({ step: 2 })}\n${line({ step: 2 })}`, /line 2: step 2 does not follow step 2/],
    ["nothing", "\n\n", /holds no step reports/],
  ])("refuses %s", (_, text, message) => {
    expect(() => parseTrainingLog(text, "run.jsonl")).toThrow(message);
  });
});

import { describe, expect, it } from "vitest";
import { parseSeeds } from "./seeds";

describe("parseSeeds", () => {
  it("reads seeds and inclusive ranges, once each, in order", () => {
    expect(parseSeeds("3, 1-3 ,7")).toEqual([3, 1, 2, 7]);
  });
  it("names the bad part", () => {
    expect(() => parseSeeds("1, x")).toThrow('"x" is not a seed');
    expect(() => parseSeeds("5-2")).toThrow("runs backwards");
    expect(() => parseSeeds(" , ")).toThrow("at least one seed");
    expect(() => parseSeeds("0-1000")).toThrow("more than 256 seeds");
  });
});

import { describe, expect, it } from "vitest";
import { concreteShape, zeroFeeds } from "./feeds";
import { tensor } from "./testing/fixtures";

describe("zeroFeeds", () => {
  it("gives every input its dtype and concrete shape", () => {
    const feeds = zeroFeeds([tensor("latent", "float32", ["batch", 4, 2, 2]), tensor("ids", "int64", ["batch", 3])], 2);
    expect(feeds.latent.dims).toEqual([2, 4, 2, 2]);
    expect(feeds.latent.data).toBeInstanceOf(Float32Array);
    expect(feeds.latent.data.length).toBe(32);
    expect(feeds.ids.data).toBeInstanceOf(BigInt64Array);
    expect(feeds.ids.data.length).toBe(6);
  });

  it("substitutes only the batch dimension", () => {
    expect(concreteShape(["batch", 1, 7], 5)).toEqual([5, 1, 7]);
  });
});

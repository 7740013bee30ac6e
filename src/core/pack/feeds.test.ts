import { describe, expect, it } from "vitest";
import { concreteShape, feed, zeroFeeds } from "./feeds";
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

  it("sizes an image_tokens dimension from the data, or as asked", () => {
    const tokens = tensor("image_tokens", "float32", ["batch", "image_tokens", 4]);
    expect(feed(tokens, 2, new Float32Array(2 * 128 * 4)).dims).toEqual([2, 128, 4]);
    expect(feed(tokens, 2, new Float32Array(2 * 64 * 4)).dims).toEqual([2, 64, 4]);
    expect(() => feed(tokens, 2, new Float32Array(2 * 64 * 4 + 1))).toThrow(/image_tokens: 513 values/);
    expect(zeroFeeds([tokens], 1, 64).image_tokens.dims).toEqual([1, 64, 4]);
    expect(() => zeroFeeds([tokens])).toThrow(/needs the image token count/);
  });
});

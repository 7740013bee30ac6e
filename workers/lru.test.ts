import { describe, expect, it } from "vitest";
import { LruCache } from "./lru";

describe("LruCache", () => {
  it("evicts the least recently used entry, counting reads as use", () => {
    const c = new LruCache<string, number>(2);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1);
    c.set("c", 3);
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")).toBe(1);
    expect(c.get("c")).toBe(3);
    expect(c.size).toBe(2);
  });

  it("overwrites without growing and deletes by predicate", () => {
    const c = new LruCache<string, number>(3);
    c.set("p|1", 1);
    c.set("p|1", 2);
    c.set("q|1", 3);
    expect(c.size).toBe(2);
    expect(c.get("p|1")).toBe(2);
    c.deleteWhere((k) => k.startsWith("p|"));
    expect(c.get("p|1")).toBeUndefined();
    expect(c.get("q|1")).toBe(3);
  });

  it("refuses a capacity below one", () => {
    expect(() => new LruCache(0)).toThrow("positive integer");
  });
});

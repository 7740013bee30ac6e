import { describe, expect, it } from "vitest";
import { SerialQueue } from "./serial-queue";

describe("SerialQueue", () => {
  it("never runs two jobs at once and keeps their order, even after a failure", async () => {
    const queue = new SerialQueue();
    let running = 0;
    let maxRunning = 0;
    const order: number[] = [];
    const job = (i: number, fail = false) =>
      queue.run(async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5 - i));
        order.push(i);
        running--;
        if (fail) throw new Error(`job ${i}`);
        return i;
      });
    const results = await Promise.allSettled([job(0), job(1, true), job(2), job(3)]);
    expect(maxRunning).toBe(1);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
  });

  it("starts each job in a new task, so a message sent meanwhile is handled between jobs", async () => {
    const queue = new SerialQueue();
    const seen: string[] = [];
    // Jobs that resolve at once, as a WASM run does: without a task between them, the timer
    // below could only fire after the last one.
    const jobs = Array.from({ length: 200 }, (_, i) => queue.run(async () => void seen.push(`job ${i}`)));
    setTimeout(() => seen.push("message"), 0);
    await Promise.all(jobs);
    expect(seen).toContain("message");
    expect(seen.at(-1)).toBe("job 199");
  });
});

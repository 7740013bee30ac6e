import { describe, expect, it } from "vitest";
import { TaskSignals } from "./task-signals";

describe("TaskSignals", () => {
  it("aborts the running task with an AbortError and forgets finished ones", async () => {
    const tasks = new TaskSignals();
    const running = tasks.run(
      "a",
      (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    expect(tasks.cancel("a")).toBe(true);
    await expect(running).rejects.toMatchObject({ name: "AbortError" });
    expect(tasks.cancel("a")).toBe(false);
    expect(tasks.cancel("never")).toBe(false);
  });

  it("refuses a task id that is already running", () => {
    const tasks = new TaskSignals();
    tasks.start("a");
    expect(() => tasks.start("a")).toThrow('task id "a" is already running');
  });
});

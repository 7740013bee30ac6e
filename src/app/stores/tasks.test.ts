import { beforeEach, describe, expect, it } from "vitest";
import { KEEP_DONE, runTask, useTasks } from "./tasks";

const statuses = () => useTasks.getState().tasks.map((t) => `${t.label}:${t.status}`);

describe("runTask", () => {
  beforeEach(() => useTasks.setState({ tasks: [], notices: [] }));

  it("keeps the last few successes and every failure until it is dismissed", async () => {
    await runTask("broken", async () => {
      throw new Error("no");
    });
    for (let i = 0; i < KEEP_DONE + 2; i++) await runTask(`ok ${i}`, async () => i);
    expect(statuses()).toEqual(["broken:error", ...[2, 3, 4].map((i) => `ok ${i}:done`)]);
  });

  it("ends as cancelled when the work stops for the signal", async () => {
    const result = await runTask("long", async (signal, _progress, id) => {
      useTasks.getState().cancel(id);
      signal.throwIfAborted();
    });
    expect(result.status).toBe("cancelled");
    expect(statuses()).toEqual(["long:cancelled"]);
  });
});

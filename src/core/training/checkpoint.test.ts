import { describe, expect, it } from "vitest";
import { adapterSizes, checkpointProblem, keepCheckpoints } from "./checkpoint";
import type { Checkpoint } from "./loop";

const sizes = adapterSizes([
  { name: "a", shape: [2, 3] },
  { name: "b", shape: [4] },
]);
const full = (fill = 0.5) => new Map([...sizes].map(([n, s]) => [n, new Float32Array(s).fill(fill)]));
const checkpoint = (patch: Partial<Checkpoint> = {}): Checkpoint => ({
  step: 8,
  adapter: full(),
  optimizer: { step: 8, m: full(0), v: full(0.1) },
  ...patch,
});

describe("checkpointProblem", () => {
  it("accepts a whole checkpoint, with or without the manifest's sizes", () => {
    expect(checkpointProblem(checkpoint(), sizes, 8)).toBeUndefined();
    expect(checkpointProblem(checkpoint())).toBeUndefined();
  });

  it("names what is wrong with a checkpoint that did not read back whole", () => {
    expect(checkpointProblem(undefined, sizes)).toBe("the entry is missing");
    expect(checkpointProblem(checkpoint(), sizes, 12)).toBe("it holds step 8, not 12");
    expect(checkpointProblem(checkpoint({ step: 1.5 }), sizes)).toBe("its step is not a whole number");
    const short = full();
    short.set("b", new Float32Array(3));
    expect(checkpointProblem(checkpoint({ adapter: short }), sizes)).toBe("its adapter b has 3 values, expected 4");
    const missing = full();
    missing.delete("a");
    expect(checkpointProblem(checkpoint({ adapter: missing }), sizes)).toBe("its adapter has no tensor a");
    const nan = full(0);
    nan.get("a")?.fill(Number.NaN, 2, 3);
    expect(checkpointProblem(checkpoint({ optimizer: { step: 8, m: full(0), v: nan } }), sizes)).toBe(
      "its AdamW second moment a holds NaN or infinite values",
    );
    const extra = full();
    extra.set("c", new Float32Array(1));
    expect(checkpointProblem(checkpoint({ adapter: extra }), sizes)).toBe("its adapter has an unexpected tensor c");
    // Without the manifest's sizes, the moments must match the adapter.
    const m = full(0);
    m.set("a", new Float32Array(5));
    expect(checkpointProblem(checkpoint({ optimizer: { step: 8, m, v: full() } }))).toBe(
      "its AdamW first moment a has 5 values, expected 6",
    );
    expect(checkpointProblem({ step: 8, adapter: full() }, sizes)).toBe("its AdamW state is missing");
  });
});

describe("keepCheckpoints", () => {
  const ref = (step: number) => ({ step, savedAt: `t${step}` });
  it("keeps the newest `keep`, drops the rest, and replaces checkpoints at or after a resumed step", () => {
    expect(keepCheckpoints([ref(0), ref(4)], ref(8), 2)).toEqual({ kept: [ref(4), ref(8)], dropped: [ref(0)] });
    expect(keepCheckpoints([ref(4)], ref(8), 3)).toEqual({ kept: [ref(4), ref(8)], dropped: [] });
    // Resumed from step 4 after step 8's entry failed to read back: 8 goes, 6 is the newest.
    expect(keepCheckpoints([ref(4), ref(8)], ref(6), 2)).toEqual({ kept: [ref(4), ref(6)], dropped: [ref(8)] });
    // The same step again (its entry is overwritten in place, not deleted).
    expect(keepCheckpoints([ref(4), ref(8)], ref(8), 2)).toEqual({ kept: [ref(4), ref(8)], dropped: [] });
    expect(keepCheckpoints([ref(4)], ref(8), 0)).toEqual({ kept: [ref(8)], dropped: [ref(4)] });
  });
});

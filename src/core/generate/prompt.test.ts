import { describe, expect, it } from "vitest";
import { encodePrompt, type PromptSpec, referenceOrder } from "./prompt";

const spec: PromptSpec = {
  length: 2,
  null_id: 0,
  slots: [
    { name: "background", any_id: 1, values: [{ id: 2, text: "red" }] },
    { name: "position", any_id: 3, values: [{ id: 4, text: "left" }] },
  ],
};

describe("encodePrompt", () => {
  it("gives each slot its value's id, any by default", () => {
    expect(encodePrompt(spec, { position: "left" })).toEqual([1n, 4n]);
  });

  it("takes a two-subject layout in its slot when the pack has layouts, and only there", () => {
    const withLayouts = {
      ...spec,
      layouts: { slot: "position", values: [{ id: 5, text: "A left, B right", first: "A" as const }] },
    };
    expect(encodePrompt(withLayouts, { background: "red", position: "A left, B right" })).toEqual([2n, 5n]);
    expect(() => encodePrompt(spec, { position: "A left, B right" })).toThrow(
      /"A left, B right" is not a position in this pack's vocabulary/,
    );
    expect(() => encodePrompt(withLayouts, { background: "A left, B right" })).toThrow(/not a background/);
  });
});

describe("referenceOrder", () => {
  const withLayouts = {
    ...spec,
    layouts: {
      slot: "position",
      values: [
        { id: 5, text: "A left, B right", first: "A" as const },
        { id: 6, text: "A right, B left", first: "B" as const },
      ],
    },
  };
  it("puts the layout's first subject first, and needs a layout", () => {
    expect(referenceOrder(withLayouts, { position: "A left, B right" })).toEqual([0, 1]);
    expect(referenceOrder(withLayouts, { position: "A right, B left" })).toEqual([1, 0]);
    expect(() => referenceOrder(withLayouts, { position: "left" })).toThrow(/two subjects need a layout/);
    expect(() => referenceOrder(spec, {})).toThrow(/the pack takes one reference/);
  });
});

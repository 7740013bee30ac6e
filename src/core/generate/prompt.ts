/** Prompts over a pack's fixed vocabulary: one value (or "any") per slot, as token ids. */

export interface PromptSlot {
  name: string;
  any_id: number;
  values: { id: number; text: string }[];
}

export interface PromptSpec {
  length: number;
  null_id: number;
  slots: PromptSlot[];
  /**
   * Two-subject layouts ("A left, B right"…) of a denoiser grown for two references: values of
   * slot `slot` besides its own, with ids after the single-subject vocabulary. `first` is the
   * subject whose reference the denoiser takes first: the one placed left or top.
   */
  layouts?: { slot: string; values: LayoutValue[] };
}

export interface LayoutValue {
  id: number;
  text: string;
  first: "A" | "B";
}

/** Slot name → value text or "any". Missing slots mean "any". */
export type PromptChoice = Record<string, string>;

export function encodePrompt(spec: PromptSpec, choice: PromptChoice): bigint[] {
  const unknownSlots = Object.keys(choice).filter((k) => !spec.slots.some((s) => s.name === k));
  if (unknownSlots.length) {
    throw new Error(
      `prompt slot "${unknownSlots[0]}" is not in this pack's vocabulary (slots: ${spec.slots.map((s) => s.name).join(", ")})`,
    );
  }
  return spec.slots.map((slot) => {
    const text = choice[slot.name] ?? "any";
    if (text === "any") return BigInt(slot.any_id);
    const layouts = spec.layouts?.slot === slot.name ? spec.layouts.values : [];
    const value = slot.values.find((v) => v.text === text) ?? layouts.find((v) => v.text === text);
    if (!value) {
      throw new Error(
        `"${text}" is not a ${slot.name} in this pack's vocabulary (choose from: any, ${slot.values.map((v) => v.text).join(", ")})`,
      );
    }
    return BigInt(value.id);
  });
}

/**
 * The order in which the denoiser takes the references of subjects A and B (indices 0 and 1)
 * under a two-subject prompt: its layout's `first` subject, then the other.
 */
export function referenceOrder(spec: PromptSpec, choice: PromptChoice): [number, number] {
  const slot = spec.layouts?.slot;
  const layout = slot === undefined ? undefined : spec.layouts?.values.find((v) => v.text === choice[slot]);
  if (!layout) {
    const names = spec.layouts?.values.map((v) => v.text).join(", ") ?? "none: the pack takes one reference";
    throw new Error(`two subjects need a layout in the prompt's ${slot ?? "position"} slot (layouts: ${names})`);
  }
  return layout.first === "A" ? [0, 1] : [1, 0];
}

export function describePrompt(spec: PromptSpec, choice: PromptChoice): string {
  return spec.slots.map((s) => `${s.name} ${choice[s.name] ?? "any"}`).join(", ");
}

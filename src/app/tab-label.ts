/**
 * This studio tab's short label (shown in the header), so that a tab refused a run can say which
 * tab trains it or writes it (workers/tab-locks.ts). It survives reloads of the tab (sessionStorage); a tab
 * opened as a duplicate, which copies sessionStorage, finds the label's Web Lock taken and picks
 * another.
 */
import { create } from "zustand";

const KEY = "patchdpo-tab-label";
const LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

function fresh(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return Array.from(bytes, (b) => LETTERS[b % LETTERS.length]).join("");
}

function stored(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function remember(label: string) {
  try {
    sessionStorage.setItem(KEY, label);
  } catch {
    // no sessionStorage: the label lasts as long as the page
  }
}

export const useTabLabel = create<{ label: string }>(() => {
  const label = stored() ?? fresh();
  remember(label);
  return { label };
});

/** Holds the label's lock for the page's lifetime; a label another live tab holds is replaced. */
function claim(label: string) {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  void locks?.request(`patchdpo-tab:${label}`, { ifAvailable: true }, (lock) => {
    if (lock) return new Promise<never>(() => {});
    const next = fresh();
    remember(next);
    useTabLabel.setState({ label: next });
    claim(next);
    return undefined;
  });
}
claim(useTabLabel.getState().label);

export const tabLabel = (): string => useTabLabel.getState().label;

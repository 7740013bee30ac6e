/**
 * One writer per training run and per dataset across every studio tab of the origin, with Web
 * Locks (`navigator.locks`, shared by all tabs and their workers, released when the holder ends,
 * crash included). A resource is written under the exclusive lock `patchdpo-<kind>:<id>`; while it
 * holds that, the holder also holds `patchdpo-<kind>-holder:<tab>:<id>`, whose name records the
 * holder's tab label for any other tab to read with `navigator.locks.query()`. Without Web Locks
 * (an insecure context), nothing is guarded.
 */

/** A training run (by run id) or a dataset being written (by `<packId>/<name>`). */
export type LockKind = "run" | "dataset";

const lockName = (kind: LockKind) => `patchdpo-${kind}:`;
const holderName = (kind: LockKind) => `patchdpo-${kind}-holder:`;

/** What the refusal says, per kind: `holder` is the other tab's label, `own` this tab's. */
const refusal: Record<LockKind, (id: string, holder: string | undefined, own: string) => string> = {
  run: (id, holder, own) =>
    holder === own
      ? `Run "${id}" is already training in this tab (tab ${own}).`
      : `Run "${id}" is being trained in ${holder ? `tab ${holder}` : "another tab"}: pause it there (or close that tab) first. This is tab ${own}.`,
  dataset: (id, holder, own) => {
    const name = id.slice(id.indexOf("/") + 1);
    return holder === own
      ? `Dataset "${name}" is already being written in this tab (tab ${own}).`
      : `Dataset "${name}" is being written in ${holder ? `tab ${holder}` : "another tab"}: let it finish there (or cancel it), or choose another name. This is tab ${own}.`;
  },
};

/** A write refused because another tab (or this one) holds the resource. */
export class HeldError extends Error {
  constructor(
    readonly kind: LockKind,
    readonly id: string,
    readonly holder: string | undefined,
    own: string,
  ) {
    super(refusal[kind](id, holder, own));
    this.name = "HeldError";
  }
}

const locks = (): LockManager | undefined => (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;

/** Resources of `kind` whose lock is held now, each with its holder's tab label (undefined while not yet recorded). */
export async function heldLocks(kind: LockKind): Promise<Map<string, string | undefined>> {
  const manager = locks();
  const out = new Map<string, string | undefined>();
  if (!manager) return out;
  const { held = [] } = await manager.query();
  const [lock, holder] = [lockName(kind), holderName(kind)];
  for (const { name = "" } of held) if (name.startsWith(lock)) out.set(name.slice(lock.length), undefined);
  for (const { name = "" } of held) {
    if (!name.startsWith(holder)) continue;
    const rest = name.slice(holder.length);
    const colon = rest.indexOf(":");
    const id = rest.slice(colon + 1);
    if (out.has(id)) out.set(id, rest.slice(0, colon));
  }
  return out;
}

/**
 * Resolves once no writer holds `kind` `id`: a shared request waits behind the exclusive holder
 * (its tab may close at any time) and is let go at once.
 */
export async function released(kind: LockKind, id: string): Promise<void> {
  await locks()?.request(`${lockName(kind)}${id}`, { mode: "shared" }, () => undefined);
}

/** The tab holding the lock; asks again briefly while the holder's label is not yet recorded. */
async function holderOf(kind: LockKind, id: string): Promise<string | undefined> {
  for (let i = 0; i < 5; i++) {
    const held = await heldLocks(kind);
    if (!held.has(id)) return undefined;
    const tab = held.get(id);
    if (tab) return tab;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/** A tab label as lock names carry it (no separators); a caller without one is a script. */
export const lockTab = (tab: string | undefined) => (tab ?? "").replace(/[^\w-]/g, "") || "(a script)";

/**
 * Runs `fn` holding the lock of `kind` `id` for tab `tab`; throws HeldError, without waiting,
 * when another writer holds it.
 */
export async function withTabLock<T>(kind: LockKind, id: string, tab: string, fn: () => Promise<T>): Promise<T> {
  const manager = locks();
  if (!manager) return fn();
  const refused = Symbol("refused");
  const out = await manager.request(`${lockName(kind)}${id}`, { ifAvailable: true }, (lock) =>
    lock ? manager.request(`${holderName(kind)}${tab}:${id}`, fn) : refused,
  );
  if (out === refused) throw new HeldError(kind, id, await holderOf(kind, id), tab);
  return out as T;
}

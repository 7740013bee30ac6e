/**
 * One trainer per run across every studio tab of the origin, with Web Locks (`navigator.locks`,
 * shared by all tabs and their workers, released when the holder ends, crash included). A run is
 * trained under the exclusive lock `patchdpo-run:<id>`; while it holds that, the holder also holds
 * `patchdpo-run-holder:<tab>:<id>`, whose name records the holder's tab label for any other tab to
 * read with `navigator.locks.query()`. Without Web Locks (an insecure context), runs are not
 * guarded.
 */

const RUN = "patchdpo-run:";
const HOLDER = "patchdpo-run-holder:";

/** A run refused because another trainer (another tab, or this one) holds it. */
export class RunHeldError extends Error {
  constructor(
    readonly runId: string,
    readonly holder: string | undefined,
    own: string,
  ) {
    super(
      holder === own
        ? `Run "${runId}" is already training in this tab (tab ${own}).`
        : `Run "${runId}" is being trained in ${holder ? `tab ${holder}` : "another tab"}: pause it there (or close that tab) first. This is tab ${own}.`,
    );
    this.name = "RunHeldError";
  }
}

const locks = (): LockManager | undefined => (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;

/** Runs whose lock is held now, each with the tab label of its holder (undefined while not yet recorded). */
export async function heldRuns(): Promise<Map<string, string | undefined>> {
  const manager = locks();
  const out = new Map<string, string | undefined>();
  if (!manager) return out;
  const { held = [] } = await manager.query();
  for (const { name = "" } of held) if (name.startsWith(RUN)) out.set(name.slice(RUN.length), undefined);
  for (const { name = "" } of held) {
    if (!name.startsWith(HOLDER)) continue;
    const rest = name.slice(HOLDER.length);
    const colon = rest.indexOf(":");
    const id = rest.slice(colon + 1);
    if (out.has(id)) out.set(id, rest.slice(0, colon));
  }
  return out;
}

/** The tab holding run `id`'s lock; asks again briefly while the holder's label is not yet recorded. */
async function holderOf(id: string): Promise<string | undefined> {
  for (let i = 0; i < 5; i++) {
    const held = await heldRuns();
    if (!held.has(id)) return undefined;
    const tab = held.get(id);
    if (tab) return tab;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/**
 * Runs `fn` holding run `id`'s lock for tab `tab`; throws RunHeldError, without waiting, when
 * another trainer holds it.
 */
export async function withRunLock<T>(id: string, tab: string, fn: () => Promise<T>): Promise<T> {
  const manager = locks();
  if (!manager) return fn();
  const refused = Symbol("refused");
  const out = await manager.request(`${RUN}${id}`, { ifAvailable: true }, (lock) =>
    lock ? manager.request(`${HOLDER}${tab}:${id}`, fn) : refused,
  );
  if (out === refused) throw new RunHeldError(id, await holderOf(id), tab);
  return out as T;
}

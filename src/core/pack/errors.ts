/** Errors a pack load can end with; messages are meant for the user as they stand. */

export class PackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PackError";
  }
}

/** Storage refused the write; nothing of the pack was left behind. */
export class CacheQuotaError extends PackError {
  constructor(packId: string, bytes: number) {
    super(
      `Not enough browser storage to cache pack "${packId}" (${formatBytes(bytes)}). ` +
        "Nothing was cached; delete cached packs in the Models tab or allow this site more storage.",
    );
    this.name = "CacheQuotaError";
  }
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError";
}

export function isQuotaError(e: unknown): boolean {
  // IndexedDB reports quota failures as a DOMException named QuotaExceededError, sometimes wrapped
  // as the cause of a transaction abort.
  if (!(e instanceof Error)) return false;
  return e.name === "QuotaExceededError" || isQuotaError((e as { cause?: unknown }).cause);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

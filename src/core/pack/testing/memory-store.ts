/**
 * In-memory KeyValueStore for cache tests: logs every operation and can be made to fail, the way
 * IndexedDB does when it runs out of quota.
 */
import type { KeyValueStore } from "../store";

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, unknown>();
  readonly log: string[] = [];
  /** Fail the set() call with this (0-based) index from now on, with a QuotaExceededError. */
  failSetAt?: number;
  private sets = 0;

  async get<T>(key: string) {
    return this.data.get(key) as T | undefined;
  }
  async set(key: string, value: unknown) {
    if (this.failSetAt !== undefined && this.sets++ === this.failSetAt) {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    this.log.push(`set ${key}`);
    this.data.set(key, value);
  }
  async del(key: string) {
    this.log.push(`del ${key}`);
    this.data.delete(key);
  }
  async keys() {
    return [...this.data.keys()];
  }
}

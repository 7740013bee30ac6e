/**
 * The small key-value interface the pack cache needs. The studio backs it with IndexedDB through
 * idb-keyval (idbStore); unit tests may back it with anything that behaves the same.
 */
import { createStore, del, get, keys, set } from "idb-keyval";

export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

export const PACK_DB_NAME = "patchdpo-packs";
export const PACK_STORE_NAME = "kv";

/** IndexedDB database `patchdpo-packs`, object store `kv`. */
export function idbStore(dbName = PACK_DB_NAME, storeName = PACK_STORE_NAME): KeyValueStore {
  const store = createStore(dbName, storeName);
  return {
    get: <T>(key: string) => get<T>(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    keys: async () => (await keys(store)).map(String),
  };
}

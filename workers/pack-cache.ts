/**
 * The pack cache of the worker that imports this module: one PackCache over IndexedDB per worker,
 * so that the commits, deletes and gc it serializes per instance queue behind one another.
 */
import { PackCache } from "../src/core/pack/cache";
import { idbStore } from "../src/core/pack/store";

let cache: PackCache | undefined;

export function packCache(): PackCache {
  cache ??= new PackCache(idbStore());
  return cache;
}

/**
 * `virtual:builtin-packs`: ids of the packs under public/models/ (folders with a manifest.json),
 * so the app knows which built-in packs exist without probing URLs.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Plugin } from "vite";

const ID = "virtual:builtin-packs";
const RESOLVED = `\0${ID}`;

export function listBuiltinPacks(modelsDir: string): string[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(modelsDir, d.name, "manifest.json")))
    .map((d) => d.name)
    .sort();
}

export function builtinPacks(modelsDir: string): Plugin {
  return {
    name: "patchdpo:builtin-packs",
    resolveId: (id) => (id === ID ? RESOLVED : undefined),
    load(id) {
      if (id !== RESOLVED) return undefined;
      return `export const builtinPackIds = ${JSON.stringify(listBuiltinPacks(modelsDir))};`;
    },
    configureServer(server) {
      // A pack added while the dev server runs shows up on the next page load.
      server.watcher.add(modelsDir);
      const refresh = (path: string) => {
        if (!path.endsWith("manifest.json")) return;
        const mod = server.moduleGraph.getModuleById(RESOLVED);
        if (mod) server.moduleGraph.invalidateModule(mod);
      };
      server.watcher.on("add", refresh);
      server.watcher.on("unlink", refresh);
    },
  };
}

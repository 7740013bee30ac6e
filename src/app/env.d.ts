declare module "virtual:builtin-packs" {
  /** Ids of the packs under public/models/ that have a manifest.json. */
  export const builtinPackIds: string[];
}

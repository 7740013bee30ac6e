/**
 * Test helper: a temporary copy of a pack with a validation split, as the foundry's export writes
 * one (foundry/foundry/export.py): the last `n` `gallery.train` entries marked `"validation": true`
 * and their sprites appended to the scene kit after the held-out subjects, cut from the subject
 * assets exactly as `SpriteBank` does (96² store, Lanczos to each size). The atlases keep their
 * column count and grow by rows. public/models/ is never written.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { packPath } from "../node/packs";
import type { Manifest } from "../src/core/pack/manifest";

const APPEND_SPRITES = `
import json, sys
from pathlib import Path
from PIL import Image
from foundry.subjects import STORE_SIZE, all_subjects, load_rgba

folder, ids = Path(sys.argv[1]), sys.argv[2].split(",")
kit = json.loads((folder / "manifest.json").read_text())["scenes"]
by_id = {s.id: s for s in all_subjects()}
for spec in kit["sprites"].values():
    px, columns = spec["px"], spec["columns"]
    rows = -(-len(kit["subjects"]) // columns)
    atlas = Image.new("RGBA", (columns * px, rows * px))
    atlas.paste(Image.open(folder / spec["file"]).convert("RGBA"), (0, 0))
    for i, sid in enumerate(kit["subjects"]):
        if sid in ids:
            sprite = Image.fromarray(load_rgba(by_id[sid], STORE_SIZE)).resize((px, px), Image.LANCZOS)
            atlas.paste(sprite, ((i % columns) * px, (i // columns) * px))
    atlas.save(folder / spec["file"])
`;

/** The copy's folder (absolute) and its validation subject ids. */
export function withValidationSubjects(pack: string, n: number): { dir: string; validation: string[] } {
  const dir = join(mkdtempSync(join(tmpdir(), "validation-pack-")), pack);
  cpSync(packPath(pack), dir, { recursive: true });
  const file = join(dir, "manifest.json");
  const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  const train = manifest.gallery?.train ?? [];
  const kit = manifest.scenes;
  if (train.length <= n || !kit)
    throw new Error(`pack ${pack}: needs a scene kit and more than ${n} training subjects`);
  const marked = train.slice(-n);
  for (const e of marked) e.validation = true;
  const validation = marked.map((e) => e.id);
  kit.subjects.push(...validation);
  writeFileSync(file, JSON.stringify(manifest, null, 1));
  const py = spawnSync("/usr/bin/python3", ["-c", APPEND_SPRITES, dir, validation.join(",")], {
    cwd: resolve("foundry"),
    encoding: "utf8",
  });
  if (py.status !== 0) throw new Error(`appending validation sprites failed:\n${py.stderr}`);
  return { dir, validation };
}

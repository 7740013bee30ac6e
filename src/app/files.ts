/**
 * Turns a folder picker selection or a drag-and-drop into pack-relative paths. The pack root is
 * the folder holding the shallowest manifest.json, so dropping either the pack folder or its
 * contents works. Two files that land on one pack path are refused: either could be the one the
 * manifest means.
 */
import { MANIFEST_FILE } from "../core/pack";

export type PackFiles = { files: Record<string, File>; label: string };

export function rootRelative(entries: [string, File][]): PackFiles {
  const manifests = entries.map(([p]) => p).filter((p) => p === MANIFEST_FILE || p.endsWith(`/${MANIFEST_FILE}`));
  manifests.sort((a, b) => a.split("/").length - b.split("/").length);
  const root = manifests.length ? manifests[0].slice(0, -MANIFEST_FILE.length) : "";
  const files: Record<string, File> = {};
  const sources: Record<string, string> = {};
  for (const [path, file] of entries) {
    if (!path.startsWith(root)) continue;
    const rel = path.slice(root.length);
    if (rel in files) {
      const where = sources[rel] === path ? "" : ` (${sources[rel]} and ${path})`;
      throw new Error(`two selected files are both "${rel}"${where}: choose one of them and load again`);
    }
    files[rel] = file;
    sources[rel] = path;
  }
  const label = root ? `folder ${root.replace(/\/$/, "")}` : `${entries.length} selected files`;
  return { files, label };
}

/** From an <input type=file> (with or without webkitdirectory). */
export function filesFromInput(list: FileList): PackFiles {
  return rootRelative(Array.from(list, (f) => [f.webkitRelativePath || f.name, f]));
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry: FileSystemEntry, prefix: string, out: [string, File][]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push([prefix + entry.name, file]);
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns the listing in batches until it returns an empty one.
    for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** Every file of a drop of files and/or folders, by its path within the drop. */
export async function droppedFiles(data: DataTransfer): Promise<[string, File][]> {
  // Read every item before the first await: the DataTransfer empties when the drop handler returns.
  const items = Array.from(data.items, (item) => ({ entry: item.webkitGetAsEntry(), file: item.getAsFile() }));
  const out: [string, File][] = [];
  for (const { entry, file } of items) {
    if (entry) await walk(entry, "", out);
    // Items without a file-system entry (a script's DataTransfer) still carry their file.
    else if (file) out.push([file.name, file]);
  }
  return out;
}

/** From a drop of files and/or folders. */
export async function filesFromDrop(data: DataTransfer): Promise<PackFiles> {
  return rootRelative(await droppedFiles(data));
}

/** Load a pack: built-in, from a URL, from a folder or files (picker), or by drag-and-drop. */

import { builtinPackIds } from "virtual:builtin-packs";
import { type DragEvent, type FormEvent, useState } from "react";
import { packBaseUrl } from "../../core/pack";
import { filesFromDrop, filesFromInput, type PackFiles } from "../files";
import { builtinSource, usePacks } from "../stores/packs";

export function PackSourcePicker() {
  const load = usePacks((s) => s.load);
  const [url, setUrl] = useState("");
  const [urlError, setUrlError] = useState<string>();
  const [filesError, setFilesError] = useState<string>();
  const [dragging, setDragging] = useState(false);

  /** Loads a picked or dropped selection; a selection that cannot be a pack is refused here, by name. */
  const loadFiles = async (pick: () => PackFiles | Promise<PackFiles>) => {
    setFilesError(undefined);
    let picked: PackFiles;
    try {
      picked = await pick();
    } catch (e) {
      setFilesError((e as Error).message);
      return;
    }
    await load({ kind: "files", ...picked });
  };

  const onUrl = (e: FormEvent) => {
    e.preventDefault();
    try {
      setUrlError(undefined);
      void load({ kind: "url", url: packBaseUrl(url.trim(), location.href) });
    } catch {
      setUrlError(`Not a valid URL: ${url}`);
    }
  };

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void loadFiles(() => filesFromDrop(e.dataTransfer));
  };

  return (
    <section className="panel" aria-label="Load a pack">
      <h3>Load a pack</h3>
      <div className="row">
        <span>Built-in:</span>
        {builtinPackIds.length === 0 && <span className="muted">none found under public/models/</span>}
        {builtinPackIds.map((id) => (
          <button type="button" key={id} onClick={() => void load(builtinSource(id))}>
            Load {id}
          </button>
        ))}
      </div>
      <form className="row" onSubmit={onUrl}>
        <label>
          From URL{" "}
          <input
            type="text"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://example.org/packs/mypack/"
            size={40}
          />
        </label>
        <button type="submit" disabled={!url.trim()}>
          Load URL
        </button>
        {urlError && <span role="alert">{urlError}</span>}
      </form>
      <div className="row">
        <label className="button">
          Choose pack folder…
          <input
            type="file"
            data-testid="pack-folder-input"
            hidden
            {...{ webkitdirectory: "" }}
            onChange={(e) => {
              const list = e.target.files;
              if (list) void loadFiles(() => filesFromInput(list));
            }}
          />
        </label>
        <label className="button">
          Choose pack files…
          <input
            type="file"
            data-testid="pack-files-input"
            hidden
            multiple
            onChange={(e) => {
              const list = e.target.files;
              if (list) void loadFiles(() => filesFromInput(list));
            }}
          />
        </label>
      </div>
      <section
        className={`dropzone${dragging ? " dragging" : ""}`}
        aria-label="Drop a pack folder here"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => void onDrop(e)}
      >
        Drop a pack folder (manifest.json and its files) here
      </section>
      {filesError && (
        <div className="error-box" role="alert" data-testid="pack-files-error">
          {filesError}
        </div>
      )}
    </section>
  );
}

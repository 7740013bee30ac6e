/** Packs that are loaded or cached: roles, I/O signatures, cached size; load, unload, delete. */

import type { LoadedPack } from "../../../workers/inference-api";
import { formatBytes, type Manifest, packFiles, ROLE_NAMES } from "../../core/pack";
import { formatTensor } from "../../core/pack/signature";
import { usePacks } from "../stores/packs";
import { RunCheck } from "./RunCheck";

function RoleTable({ manifest }: { manifest: Manifest }) {
  return (
    <table className="roles">
      <thead>
        <tr>
          <th>Role</th>
          <th>File</th>
          <th>Size</th>
          <th>Inputs</th>
          <th>Outputs</th>
        </tr>
      </thead>
      <tbody>
        {ROLE_NAMES.map((role) => {
          const spec = manifest.roles[role];
          if (!spec) return null;
          return (
            <tr key={role} data-role={role}>
              <td>{role}</td>
              <td>{spec.file}</td>
              <td>{formatBytes(spec.bytes)}</td>
              <td>
                {spec.inputs.map((t) => (
                  <code key={t.name}>{formatTensor(t)}</code>
                ))}
              </td>
              <td>
                {spec.outputs.map((t) => (
                  <code key={t.name}>{formatTensor(t)}</code>
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function PackCard({ id }: { id: string }) {
  const { loaded, cached, load, unload, deleteCached } = usePacks();
  const pack: LoadedPack | undefined = loaded[id];
  const record = cached.find((r) => r.id === id);
  const manifest = pack?.manifest ?? record?.manifest;
  if (!manifest) return null;
  const total = packFiles(manifest).reduce((s, f) => s + f.bytes, 0);
  return (
    <article
      className="pack"
      data-pack-id={id}
      data-loaded={pack ? "true" : "false"}
      data-load-ms={pack ? Math.round(pack.loadMs) : undefined}
      data-phase-ms={pack ? JSON.stringify(pack.phaseMs) : undefined}
      data-from-cache={pack ? String(pack.fetched.length === 0) : undefined}
    >
      <header>
        <h4>
          {manifest.title} <span className="muted">({id})</span>
        </h4>
        <span className="status">
          {pack
            ? `Loaded on ${pack.provider === "webgpu" ? "WebGPU" : "WASM"} in ${Math.round(pack.loadMs)} ms` +
              (pack.fetched.length === 0 ? " from cache" : "")
            : "Not loaded"}
        </span>
      </header>
      <p className="muted">{manifest.description}</p>
      <p>
        Cached: <span data-testid="cached-size">{record ? formatBytes(record.totalBytes) : "not cached"}</span>
        {" · "}Files: {formatBytes(total)}
        {record?.source.kind === "url" && !record.source.builtin && <> · from {record.source.url}</>}
        {record?.source.kind === "files" && <> · from {record.source.label}</>}
      </p>
      {pack?.cacheWarning && <p className="warning">{pack.cacheWarning}</p>}
      <RoleTable manifest={manifest} />
      {pack && <RunCheck packId={id} manifest={manifest} />}
      <div className="row">
        {!pack && record && (
          <button type="button" onClick={() => void load({ kind: "cache", id })}>
            Load from cache
          </button>
        )}
        {pack && (
          <button type="button" onClick={() => void unload(id)}>
            Unload
          </button>
        )}
        {record && (
          <button type="button" onClick={() => void deleteCached(id)}>
            Delete from cache
          </button>
        )}
      </div>
    </article>
  );
}

export function PackList() {
  const { loaded, cached } = usePacks();
  const ids = [...new Set([...Object.keys(loaded), ...cached.map((r) => r.id)])].sort();
  return (
    <section aria-label="Packs">
      <h3>Packs</h3>
      {ids.length === 0 && <p className="muted">No pack loaded or cached yet.</p>}
      {ids.map((id) => (
        <PackCard key={id} id={id} />
      ))}
    </section>
  );
}

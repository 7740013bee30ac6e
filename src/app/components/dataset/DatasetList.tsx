/** Stored datasets of the open pack: view, export (studio zip or official PatchDPO layout), delete; import either. */
import type { Manifest } from "../../../core/pack";
import { useDataset } from "../../stores/dataset";

export function DatasetList({ manifest }: { manifest: Manifest }) {
  const { list, viewed } = useDataset();
  const s = useDataset.getState();
  return (
    <section className="panel" aria-label="Stored datasets">
      <h3>
        Stored datasets{" "}
        <label className="button">
          Import zip…
          <input
            type="file"
            accept=".zip,application/zip"
            hidden
            data-testid="dataset-import"
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (file) void s.importZip(manifest, file);
            }}
          />
        </label>{" "}
        <label className="button" title="A zip of the official PatchDPO code's data_root (docs/official-layout.md)">
          Import official layout…
          <input
            type="file"
            accept=".zip,application/zip"
            hidden
            data-testid="dataset-import-official"
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (file) void s.importOfficial(manifest, file);
            }}
          />
        </label>
      </h3>
      {list.length === 0 ? (
        <p className="muted">None yet for pack {manifest.id}.</p>
      ) : (
        <table data-testid="dataset-list">
          <thead>
            <tr>
              <th>name</th>
              <th>references</th>
              <th>images</th>
              <th>mean m_gen</th>
              <th>adapter</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.id} aria-selected={viewed?.id === d.id} data-dataset-id={d.id}>
                <td>{d.name}</td>
                <td>{d.references}</td>
                <td>{d.samples}</td>
                <td>{d.meanGen.toFixed(3)}</td>
                <td>{d.settings?.adapter ?? "—"}</td>
                <td>{new Date(d.createdAt).toLocaleString()}</td>
                <td>
                  <button type="button" onClick={() => void s.view(d.id)}>
                    View
                  </button>{" "}
                  <button type="button" onClick={() => void s.exportZip(manifest, d.id)}>
                    Export zip
                  </button>{" "}
                  <button
                    type="button"
                    title="sample{k}/ folders and patch_quality.pkl for the official PatchDPO training code"
                    onClick={() => void s.exportOfficial(manifest, d.id)}
                  >
                    Export official layout
                  </button>{" "}
                  <button type="button" onClick={() => void s.remove(d.id)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

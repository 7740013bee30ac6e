/** The Dataset tab: build a preference dataset on the left; stored datasets and the viewed one on the right. */
import { useEffect } from "react";
import { useDataset } from "../../stores/dataset";
import { useActivePack } from "../../stores/packs";
import { BuildForm } from "./BuildForm";
import { DatasetList } from "./DatasetList";
import { DatasetView } from "./DatasetView";
import { PngThumb } from "./PngImage";
import "./dataset.css";

export function DatasetTab() {
  const pack = useActivePack();
  const { packId, viewed, building, error } = useDataset();
  const manifest = pack?.manifest;
  useEffect(() => {
    if (manifest && packId !== manifest.id) void useDataset.getState().init(manifest);
  }, [manifest, packId]);

  if (!manifest) return <p className="muted">Load a pack on the Models tab to build a dataset.</p>;
  return (
    <div className="dataset">
      <BuildForm manifest={manifest} />
      <div className="dataset-main">
        {error && (
          <div className="error-box" role="alert" data-testid="dataset-error">
            {error}
          </div>
        )}
        <DatasetList manifest={manifest} />
        {building && (
          <section className="panel" aria-label="Build progress" data-testid="dataset-building">
            <h3>
              Generating {building.done} / {building.total || "…"}{" "}
              <button type="button" onClick={() => useDataset.getState().cancel()}>
                Cancel
              </button>
            </h3>
            <div className="dataset-strip">
              {building.images.map((im, i) => (
                <PngThumb key={String(i)} png={im.png} label={`image ${i + 1}, mean ${im.meanGen.toFixed(3)}`} />
              ))}
            </div>
          </section>
        )}
        {viewed && <DatasetView stored={viewed} />}
      </div>
    </div>
  );
}

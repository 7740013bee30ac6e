/**
 * One stored dataset: statistics (mean quality overall and per reference, per-patch histograms of
 * both maps) and the grid of generated images per reference with a heatmap overlay: `m_gen` over
 * each generated image, or `m_ref` over the reference for each sample.
 */

import { useMemo, useState } from "react";
import type { DatasetSettings, StoredDataset } from "../../../core/dataset/format";
import { concat, datasetStats, meanOf } from "../../../core/dataset/stats";
import { isTwoSubject } from "../../../core/dataset/types";
import { ColorBar } from "../ColorBar";
import { Histogram } from "../inspect/Histogram";
import { HeatmapImage } from "./PngImage";

const fixed = (v?: number) => v?.toFixed(3) ?? "–";

function encoderText(e: DatasetSettings["patchEncoder"]): string {
  if (!e) return "Quality maps from the pack's patch_encoder.";
  return `Quality maps from enhanced encoder "${e.label}" at step ${e.step} (S_patch ${fixed(e.sPatchBefore)} → ${fixed(e.sPatch)}).`;
}

export function DatasetView({ stored }: { stored: StoredDataset }) {
  const { dataset: ds } = stored;
  const stats = useMemo(() => datasetStats(ds), [ds]);
  const two = isTwoSubject(ds);
  // A two-subject dataset's rows are its pairs, by subject A: B's id joins A's.
  const partner = (i: number) => ds.samples.find((s) => s.ref === i)?.second?.ref;
  const rowLabel = (i: number) => {
    const b = partner(i);
    return b === undefined ? ds.references[i].id : `${ds.references[i].id} + ${ds.references[b].id}`;
  };
  const [map, setMap] = useState<"gen" | "ref" | "refB" | "none">("gen");
  const shown = map === "ref" ? stats.refHistogram : stats.genHistogram;
  const range: [number, number] = [shown.min, shown.max];
  const [opacity, setOpacity] = useState(0.55);
  const promptText = (p: Record<string, string>) =>
    Object.values(p)
      .filter((v) => v !== "any")
      .join(" ") || "any";

  return (
    <section className="panel" aria-label="Dataset" data-testid="dataset-view" data-samples={ds.samples.length}>
      <h3>
        {stored.name}: {ds.samples.length} images of {ds.references.length} references
        {two && `, two subjects per image (${stored.settings.pairs?.length ?? "?"} pairs)`}
      </h3>
      <p className="muted">
        Seeds {stored.settings.seeds.join(", ")}; {stored.settings.sampler.sampler} {stored.settings.sampler.steps}{" "}
        steps; adapter {stored.settings.adapter}; m_ref {stored.settings.refWeight}.{" "}
        <span data-testid="dataset-encoder">{encoderText(stored.settings.patchEncoder)}</span>
      </p>
      <div className="dataset-stats">
        <table data-testid="dataset-stats">
          <thead>
            <tr>
              <th>reference</th>
              <th>images</th>
              <th>mean m_gen</th>
              <th>worst</th>
              <th>best</th>
              <th>mean m_ref</th>
            </tr>
          </thead>
          <tbody>
            {stats.references.map((r, i) =>
              two && r.samples === 0 ? null : (
                <tr key={`${r.id}-${String(i)}`}>
                  <td>{rowLabel(i)}</td>
                  <td>{r.samples}</td>
                  <td>{r.gen.toFixed(3)}</td>
                  <td>{r.worst.toFixed(3)}</td>
                  <td>{r.best.toFixed(3)}</td>
                  <td>{r.ref.toFixed(3)}</td>
                </tr>
              ),
            )}
            <tr className="total">
              <td>all</td>
              <td>{ds.samples.length}</td>
              <td data-testid="dataset-mean">{stats.gen.toFixed(3)}</td>
              <td />
              <td />
              <td>{stats.ref.toFixed(3)}</td>
            </tr>
          </tbody>
        </table>
        <Histogram values={concat(ds.samples.map((s) => s.mGen))} threshold={2} label="m_gen per patch" />
        <Histogram values={concat(ds.samples.map((s) => s.mRef))} threshold={2} label="m_ref per patch" />
      </div>
      <div className="dataset-controls">
        {map !== "none" && (
          <ColorBar
            colormap="viridis"
            range={range}
            label={`${map === "ref" ? "m_ref" : "m_gen"}: the dataset's own min–max`}
          />
        )}
        <label>
          Heatmap{" "}
          <select aria-label="Heatmap" value={map} onChange={(e) => setMap(e.target.value as typeof map)}>
            <option value="gen">m_gen over the generated image</option>
            <option value="ref">m_ref over the reference{two ? " (subject A)" : ""}</option>
            {two && <option value="refB">m_ref over subject B's reference</option>}
            <option value="none">none</option>
          </select>
        </label>{" "}
        <label>
          Opacity{" "}
          <input
            type="range"
            aria-label="Heatmap opacity"
            min={0}
            max={1}
            step={0.05}
            value={opacity}
            onChange={(e) => setOpacity(Number(e.target.value))}
          />
        </label>
      </div>
      <div className="dataset-grid" data-testid="dataset-grid">
        {ds.references.map((r, i) => {
          const b = partner(i);
          if (two && b === undefined) return null;
          return (
            <div key={`${r.id}-${String(i)}`} className="dataset-row">
              <figure>
                <HeatmapImage png={stored.referenceImages[i]} label={`reference ${r.id}`} grid={ds.grid} opacity={0} />
                <figcaption>
                  <strong>{two ? `A: ${r.id}` : r.id}</strong>
                  <br />
                  mean {stats.references[i].gen.toFixed(3)}
                </figcaption>
              </figure>
              {b !== undefined && (
                <figure>
                  <HeatmapImage
                    png={stored.referenceImages[b]}
                    label={`reference ${ds.references[b].id}`}
                    grid={ds.grid}
                    opacity={0}
                  />
                  <figcaption>
                    <strong>B: {ds.references[b].id}</strong>
                  </figcaption>
                </figure>
              )}
              {ds.samples.map((s, j) =>
                s.ref !== i ? null : (
                  <figure key={String(j)} data-testid="dataset-sample">
                    <HeatmapImage
                      png={
                        map === "ref"
                          ? stored.referenceImages[i]
                          : map === "refB" && s.second
                            ? stored.referenceImages[s.second.ref]
                            : stored.sampleImages[j]
                      }
                      label={`${rowLabel(i)} seed ${s.seed}`}
                      values={
                        map === "gen" ? s.mGen : map === "ref" ? s.mRef : map === "refB" ? s.second?.mRef : undefined
                      }
                      grid={ds.grid}
                      opacity={opacity}
                      range={range}
                    />
                    <figcaption>
                      seed {s.seed}, {promptText(s.prompt)}
                      <br />
                      m_gen {stats.samples[j].gen.toFixed(3)} · m_ref {stats.samples[j].ref.toFixed(3)}
                      {s.second && ` · m_ref B ${meanOf(s.second.mRef).toFixed(3)}`}
                    </figcaption>
                  </figure>
                ),
              )}
            </div>
          );
        })}
      </div>
    </section>
  );
}

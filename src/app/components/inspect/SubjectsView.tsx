/**
 * Two-subject inspection: the generated image's patch quality against reference A and against
 * reference B, and the identity assignment, each patch coloured by the reference it matches best
 * (none where that best match is the reference's background). A patch in A's place that matches B
 * shows B's features leaking into A.
 */
import { useEffect, useMemo, useRef } from "react";
import type { RgbaImage } from "../../../core/generate/image";
import type { Grid, PatchQualityMaps } from "../../../core/quality/maps";
import { assignSubjects, backgroundPatches, NO_OWNER } from "../../../core/quality/subjects";
import type { ViewSettings } from "../../stores/inspect";
import { FittedImage, Heatmap, PANEL } from "./PairView";

const SUBJECT_COLOURS: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
];

/** Patches assigned to A, to B and to no subject. */
interface AssignmentCounts {
  a: number;
  b: number;
  none: number;
}

function AssignmentMap({
  assignment,
  counts,
  grid,
  opacity,
}: {
  assignment: Int8Array;
  counts: AssignmentCounts;
  grid: Grid;
  opacity: number;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    canvas.width = grid.width;
    canvas.height = grid.height;
    const rgba = new Uint8ClampedArray(assignment.length * 4);
    assignment.forEach((k, j) => {
      if (k === NO_OWNER) return;
      rgba.set([...SUBJECT_COLOURS[k], 255], j * 4);
    });
    canvas.getContext("2d")?.putImageData(new ImageData(rgba, grid.width, grid.height), 0, 0);
  }, [assignment, grid]);
  return (
    <canvas
      ref={ref}
      className="inspect-heatmap"
      data-testid="assignment-map"
      data-a={counts.a}
      data-b={counts.b}
      data-none={counts.none}
      style={{ width: PANEL, height: PANEL, opacity }}
    />
  );
}

/** The reference's background patches, when the image tiles the grid (else every patch counts as subject). */
function backgroundOf(image: RgbaImage, grid: Grid, background: [number, number, number]): Uint8Array | undefined {
  try {
    return backgroundPatches(image, grid, background);
  } catch {
    return undefined;
  }
}

export function SubjectsView({
  generated,
  references,
  maps,
  background,
  view,
}: {
  generated: RgbaImage;
  /** Reference A and B as the encoder saw them. */
  references: [RgbaImage, RgbaImage];
  maps: [PatchQualityMaps, PatchQualityMaps];
  background: [number, number, number];
  view: ViewSettings;
}) {
  const grid = maps[0].genGrid;
  const assigned = useMemo(() => {
    const marks = references.map((r, k) => backgroundOf(r, maps[k].refGrid, background));
    const owners = new Int8Array(grid.height * grid.width).fill(NO_OWNER);
    const perRef = maps.map((m) => ({ gen: m.gen, genMatch: m.genMatch }));
    return assignSubjects(perRef, owners, marks.every(Boolean) ? (marks as Uint8Array[]) : undefined);
  }, [references, maps, grid, background]);
  const count = (k: number) => assigned.assignment.filter((v) => v === k).length;
  const counts: AssignmentCounts = { a: count(0), b: count(1), none: count(NO_OWNER) };
  const means = maps.map((m) => m.gen.reduce((a, b) => a + b, 0) / m.gen.length);
  return (
    <section className="panel" aria-label="Subjects" data-testid="subjects-view">
      <h3>Two subjects</h3>
      <p className="muted">
        Each generated patch's best cosine in reference A and in reference B, and the reference it matches best:{" "}
        <span style={{ color: `rgb(${SUBJECT_COLOURS[0]})` }}>■ A</span>,{" "}
        <span style={{ color: `rgb(${SUBJECT_COLOURS[1]})` }}>■ B</span>, uncoloured where the best match is a
        reference's background. Patches of one subject coloured as the other show identity leakage.
      </p>
      <div className="row subjects-row">
        {(["A", "B"] as const).map((name, k) => (
          <figure key={name} data-testid="subject-quality" data-subject={name} data-mean={means[k].toFixed(4)}>
            <div className="inspect-panel" style={{ width: PANEL, height: PANEL }}>
              <FittedImage image={generated} label={`Generated image, quality against reference ${name}`} />
              <Heatmap values={maps[k].gen} grid={grid} view={view} testId="subject-heatmap" />
            </div>
            <figcaption>
              Against reference {name}: mean {means[k].toFixed(3)}
            </figcaption>
          </figure>
        ))}
        <figure>
          <div className="inspect-panel" style={{ width: PANEL, height: PANEL }}>
            <FittedImage image={generated} label="Generated image, identity assignment" />
            <AssignmentMap assignment={assigned.assignment} counts={counts} grid={grid} opacity={view.opacity} />
          </div>
          <figcaption>
            Assignment: {counts.a} A, {counts.b} B, {counts.none} background
          </figcaption>
        </figure>
      </div>
    </section>
  );
}

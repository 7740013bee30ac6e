/**
 * Tuning on validation subjects: `paper --validation` refuses a pack without them, and the sweep
 * driver runs a 2-point grid on a copy of the tiny pack that has two (the standard path: PyTorch
 * sampler and trainer, one dataset shared by both points).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUDGETS, runPaper, validationPrompts } from "../bench/scenarios/paper";
import { gridPoints, runSweep, sweepTable } from "../bench/sweep";
import { readManifest } from "../node/packs";
import type { CompareReport } from "../src/core/metrics/report";
import { withValidationSubjects } from "./validation-pack";

const folders: string[] = [];
const scratch = () => folders[folders.push(mkdtempSync(join(tmpdir(), "paper-sweep-"))) - 1];

describe("tuning on validation subjects", () => {
  afterAll(() => {
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  });

  it("refuses --validation on a pack without validation subjects, and never writes a committed report", async () => {
    const run = (out: string) => runPaper({ pack: "tiny", budget: BUDGETS.reduced, out, split: "validation" });
    await expect(run(join(scratch(), "r.json"))).rejects.toThrow(/tiny has no validation subjects/);
    await expect(run("docs/paper-emoji64.json")).rejects.toThrow(/committed held-out report/);
  });

  it("draws fully specified validation prompts, the same every run", () => {
    const spec = readManifest("tiny").prompt;
    const a = validationPrompts(spec, "1f004", 2);
    expect(a).toEqual(validationPrompts(spec, "1f004", 2));
    expect(a).toHaveLength(2);
    expect(a[0]).not.toEqual(a[1]);
    for (const p of a) expect(Object.keys(p)).toEqual(spec.slots.map((s) => s.name));
    expect(validationPrompts(spec, "1f45f", 2)).not.toEqual(a);
  });

  it("expands a grid of paper flags into points, refusing flags it does not know or sets itself", () => {
    expect(gridPoints({ methods: "patchdpo", lr: [1e-4, 3e-4], steps: [10, 20] })).toEqual([
      { methods: "patchdpo", lr: 1e-4, steps: 10 },
      { methods: "patchdpo", lr: 1e-4, steps: 20 },
      { methods: "patchdpo", lr: 3e-4, steps: 10 },
      { methods: "patchdpo", lr: 3e-4, steps: 20 },
    ]);
    expect(() => gridPoints({ "learning-rate": [1e-4] })).toThrow(/not paper flags/);
    expect(() => gridPoints({ validation: 1 })).toThrow(/sets --validation itself/);
  });

  it("sweeps a 2-point grid on the validation subjects, building the dataset once", async () => {
    const { dir, validation } = withValidationSubjects("tiny", 2);
    folders.push(dirname(dir));
    const out = join(scratch(), "sweep.jsonl");
    const grid = {
      pack: dir,
      methods: "patchdpo",
      subjects: 2,
      prompts: 1,
      seeds: 1,
      "train-subjects": 2,
      "sampler-steps": 2,
      threads: 1,
      steps: [2, 3],
      "weight-norm": "minmax",
    };
    const rows = await runSweep({ grid, out, cache: join(scratch(), "datasets") });
    expect(rows.map((r) => r.point.steps)).toEqual([2, 3]);
    expect(rows.map((r) => r.dataset.cached)).toEqual([false, true]);
    expect(rows[0].dataset.file).toBe(rows[1].dataset.file);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const r of rows) {
      expect(r.evaluated_on).toBe("validation");
      expect(r.overrides).toEqual({
        methods: ["patchdpo"],
        trainSteps: r.point.steps,
        loss: { weights: { normalize: "minmax" } },
      });
      const d = r.delta_vs_base.patchdpo.subject_region_psnr_db;
      expect(d.ci95).toHaveLength(2);
      expect(r.delta_vs_base.patchdpo).toHaveProperty("patch_quality_independent");
      const report = JSON.parse(readFileSync(r.report, "utf8")) as CompareReport;
      expect(report.methods.map((m) => m.id)).toEqual(["base", "patchdpo"]);
      expect(report.methods[1].source).toMatchObject({ weights: { normalize: "minmax", threshold: null } });
      expect(report.settings).toMatchObject({ evaluated_on: "validation", validation_subjects: validation });
      // Trained on the other training subjects only; the scene kit gave every cell its ground truth.
      const trainedOn = (report.settings.training as { dataset: { subjects: string[] } }).dataset.subjects;
      expect(trainedOn.filter((s) => validation.includes(s))).toEqual([]);
      expect(report.records.every((x) => x.metrics.subject_region_psnr_db !== undefined)).toBe(true);
    }
    expect(sweepTable(grid, rows).split("\n")).toHaveLength(2 + 2);
    // A rerun finds both points done.
    expect((await runSweep({ grid, out, cache: join(scratch(), "datasets") })).map((r) => r.report)).toEqual(
      rows.map((r) => r.report),
    );
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(2);
  }, 120_000);
});

/** The `paper` benchmark's whole path on the tiny pack with a minimal budget (ORT WASM + CPU engine in Node). */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUDGETS, paperOptions, runPaper } from "../bench/scenarios/paper";
import type { CompareReport } from "../src/core/metrics/report";

describe("paper benchmark", () => {
  it("parses its options: pack, budgets and overrides", () => {
    expect(paperOptions(["paper"]).budget.name).toBe("reduced");
    expect(paperOptions(["paper", "--full"]).budget).toBe(BUDGETS.full);
    const o = paperOptions(["paper", "--pack", "tiny", "--seeds", "3", "--steps", "5"]);
    expect(o.pack).toBe("tiny");
    expect(o.budget).toMatchObject({ name: "custom", seeds: [101, 102, 103], trainSteps: 5 });
    expect(() => paperOptions(["paper", "--steps", "x"])).toThrow(/--steps expects a positive number/);
  });

  it("runs base → dataset → DPO, PatchDPO and ablations → held-out table on the tiny pack", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "paper-")), "report.json");
    const budget = {
      ...BUDGETS.reduced,
      name: "custom" as const,
      subjects: 2,
      promptsPerSubject: 1,
      seeds: [101, 102],
      trainSteps: 2,
      trainSubjects: 2,
      sampler: { ...BUDGETS.reduced.sampler, steps: 2 },
    };
    const { report } = await runPaper({ pack: "tiny", budget, out });
    const json = JSON.parse(readFileSync(out, "utf8")) as CompareReport;
    expect(json.schema).toBe("patchdpo-compare-report");
    expect(json.methods.map((m) => m.id)).toEqual([
      "base",
      "dpo",
      "patchdpo",
      "patchdpo_no_ref",
      "patchdpo_random_encoder",
    ]);
    expect(json.records).toHaveLength(5 * 2 * 1 * 2);
    expect(json.metrics).toEqual([
      "patch_quality",
      "patch_quality_independent",
      "patch_quality_random",
      "global_sim_independent",
      "subject_region_psnr_db",
      "scene_psnr_db",
      "background_acc",
      "position_acc",
      "size_acc",
    ]);
    for (const m of json.methods) {
      for (const k of json.metrics) {
        expect(json.table[m.id][k].ci95).toHaveLength(2);
        expect(json.table[m.id][k].n).toBe(2);
      }
    }
    // The same noise per cell: the base's numbers do not depend on which adapters ran beside it.
    expect(report.table.patchdpo.patch_quality.delta?.perSubject).toHaveProperty(json.records[0].subject);
    expect(json.settings).toMatchObject({
      budget: { trainSteps: 2 },
      engine: "cpu",
      evaluators: {
        patch_quality: "roles.patch_encoder",
        patch_quality_independent: "evaluators.independent",
        global_sim_independent: "evaluators.independent",
        patch_quality_random: "evaluators.patch_encoder_random",
      },
    });
  }, 300_000);
});

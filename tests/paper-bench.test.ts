/** The `paper` benchmark's whole path on the tiny pack with a minimal budget (ORT WASM + CPU engine in Node). */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUDGETS, budgetLabel, METHODS, paperOptions, runPaper } from "../bench/scenarios/paper";
import { multiOptions, runPaperMulti } from "../bench/scenarios/paper-multi";
import type { ImageRecord } from "../src/core/metrics/aggregate";
import type { CompareReport } from "../src/core/metrics/report";

describe("paper benchmark", () => {
  it("parses its options: pack, budgets and overrides", () => {
    expect(paperOptions(["paper"]).budget.name).toBe("reduced");
    expect(paperOptions(["paper", "--full"]).budget).toBe(BUDGETS.full);
    const o = paperOptions(["paper", "--pack", "tiny", "--seeds", "3", "--steps", "5"]);
    expect(o.pack).toBe("tiny");
    expect(o.budget).toMatchObject({ name: "custom", seeds: [101, 102, 103], trainSteps: 5 });
    expect(() => paperOptions(["paper", "--steps", "x"])).toThrow(/--steps expects a positive number/);
    const standard = paperOptions(["paper", "--standard", "--train-subjects", "8", "--threads", "1"]);
    expect(standard.budget).toMatchObject({ name: "custom", engine: "torch", trainSubjects: 8 });
    expect(budgetLabel(standard.budget)).toBe("standard");
    expect(standard.threads).toBe(1);
    expect(budgetLabel(paperOptions(["paper", "--steps", "5"]).budget)).toBe("reduced");
    expect(() => paperOptions(["paper", "--standard", "--full"])).toThrow(/choose one/);
  });

  it("parses the validation split, the method filter and the recipe overrides", async () => {
    expect(paperOptions(["paper"]).split).toBe("heldout");
    const v = paperOptions(["paper", "--validation", "--sampler-steps", "5"]);
    expect(v).toMatchObject({ split: "validation", out: "bench/out/paper-emoji64-validation.json" });
    expect(v.budget.sampler.steps).toBe(5);
    const o = paperOptions(["paper", "--standard", "--methods", "patchdpo,dpo", "--lr", "3e-4", "--beta", "500"]);
    expect(o.budget).toMatchObject({ name: "custom", engine: "torch", methods: ["base", "dpo", "patchdpo"], lr: 3e-4 });
    const w = ["--weight-norm", "minmax", "--threshold", "none", "--temperature", "0", "--reference-term", "off"];
    expect(paperOptions(["paper", ...w]).overrides).toEqual({
      loss: { weights: { normalize: "minmax", threshold: null, temperature: 0 }, useReference: false },
    });
    expect(o.overrides).toEqual({ methods: ["patchdpo", "dpo"], lr: 3e-4, loss: { beta: 500 } });
    expect(o.command).toBe("npm run bench -- paper --standard --methods patchdpo,dpo --lr 3e-4 --beta 500");
    expect(() => paperOptions(["paper", "--methods", "patchdpo,nope"])).toThrow(/unknown paper method nope/);
    expect(() => paperOptions(["paper", "--weight-norm", "max"])).toThrow(/one of clamp, minmax/);
    // An override may not redefine a method: PatchDPO without the reference term stays without it.
    const contradiction = paperOptions([
      "paper",
      "--pack",
      "tiny",
      "--methods",
      "patchdpo_no_ref",
      "--reference-term",
      "on",
    ]);
    await expect(runPaper(contradiction)).rejects.toThrow(/patchdpo_no_ref is defined by useReference = false/);
  });

  it("scores DINO-style and CLIP-I similarity with model folders (--dino, --clip-i)", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "paper-hf-")), "report.json");
    const argv = ["paper", "--pack", "tiny", "--methods", "base", "--subjects", "1", "--prompts", "1", "--seeds", "1"];
    const flags = ["--sampler-steps", "2", "--train-subjects", "1", "--out", out];
    const folders = ["--dino", "tests/fixtures/hf/dinov2", "--clip-i", "tests/fixtures/hf/clip-vision"];
    const o = paperOptions([...argv, ...flags, ...folders]);
    expect(o.globalEncoders).toEqual({ dino: "tests/fixtures/hf/dinov2", clip_i: "tests/fixtures/hf/clip-vision" });
    const { report } = await runPaper(o);
    expect(report.metrics).toEqual(expect.arrayContaining(["dino", "clip_i"]));
    for (const k of ["dino", "clip_i"]) expect(Number.isFinite(report.table.base[k].mean)).toBe(true);
    expect(report.settings).toMatchObject({
      evaluators: {
        dino: { model_type: "dinov2", file: "onnx/model.onnx", embedding: "CLS token" },
        clip_i: { model_type: "clip_vision_model", file: "onnx/model.onnx", embedding: "image_embeds" },
      },
    });
  }, 300_000);

  it("sizes the standard budget as issue 12 asks", () => {
    const b = BUDGETS.standard;
    expect(b.trainSubjects).toBeGreaterThanOrEqual(256);
    expect(b.trainPrompts.length).toBeGreaterThanOrEqual(4);
    expect(b.trainSteps).toBeGreaterThanOrEqual(1000);
    expect(b.subjects * b.promptsPerSubject * b.seeds.length).toBeGreaterThanOrEqual(64 * 2 * 4);
    expect(b.methods).toEqual(METHODS.map((m) => m.id));
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

  it("runs the standard path (PyTorch sampler and trainer) end to end on the tiny pack", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "paper-standard-")), "report.json");
    const budget = {
      ...BUDGETS.standard,
      name: "custom" as const,
      subjects: 2,
      promptsPerSubject: 1,
      seeds: [101, 102],
      trainSteps: 3,
      trainSubjects: 2,
      sampler: { ...BUDGETS.standard.sampler, steps: 2 },
    };
    const { report, timing } = await runPaper({ pack: "tiny", budget, out, threads: 1 });
    const ids = METHODS.map((m) => m.id);
    expect(report.methods.map((m) => m.id)).toEqual(ids);
    expect(ids.filter((id) => id.startsWith("dpo"))).toEqual(["dpo", "dpo_quality"]);
    expect(report.records).toHaveLength(ids.length * 2 * 1 * 2);
    expect(report.settings).toMatchObject({ engine: "torch", training: { steps: 3 } });
    // Paired over subjects: against the base and DPO, never against itself.
    expect(Object.keys(report.paired?.patchdpo ?? {})).toEqual(["vs_base", "vs_dpo"]);
    expect(Object.keys(report.paired?.dpo ?? {})).toEqual(["vs_base"]);
    const d = report.paired?.patchdpo.vs_base.subject_region_psnr_db;
    expect(d?.n).toBe(2);
    expect(d?.ci95).toHaveLength(2);
    // Trained adapters differ from the base; the base's images match the studio's path (same noise).
    expect(report.table.patchdpo.patch_quality.mean).not.toBe(report.table.base.patch_quality.mean);
    for (const stage of ["dataset", "dataset_variants", "train", "eval"])
      expect(timing.stages[stage].cpu_s).toBeGreaterThan(0);
    console.log("standard path on tiny:", JSON.stringify(timing.stages));
  }, 300_000);

  it("--multi: base, DPO and both PatchDPO forms on two-subject pairs, records and intervals by pair", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "paper-multi-")), "report.json");
    const argv = ["paper", "--multi", "--pack", "tiny", "--pairs", "2", "--prompts", "1", "--seeds", "1"];
    const o = multiOptions([...argv, "--train-pairs", "2", "--steps", "2", "--sampler-steps", "2", "--out", out]);
    expect(o.budget).toMatchObject({ pairs: 2, promptsPerPair: 1, seeds: [101], trainPairs: 2, trainSteps: 2 });
    expect(() => multiOptions(["paper", "--multi", "--steps", "x"])).toThrow(/--steps expects a positive number/);
    expect(multiOptions([...argv, "--training-pairs"])).toMatchObject({ split: "training" });
    expect(() => multiOptions([...argv, "--training-pairs", "--validation"])).toThrow(/two evaluation splits/);
    const { report } = await runPaperMulti(o);
    expect(report.methods.map((m) => m.id)).toEqual(["base", "dpo", "patchdpo", "patchdpo_bounded"]);
    const pairs = new Set(report.records.map((r) => r.subject));
    expect(pairs.size).toBe(2);
    for (const p of pairs) expect(p).toMatch(/^[^+]+\+[^+]+$/);
    for (const key of [
      "subject_region_psnr_db_a",
      "subject_region_psnr_db_b",
      "identity_leakage",
      "patch_quality_independent_a",
    ])
      expect(report.metrics).toContain(key);
    expect(report.paired?.patchdpo.vs_base.identity_leakage.n).toBe(2);
    expect(JSON.parse(readFileSync(out, "utf8")).settings.two_subjects).toBe(true);
    // On the dataset's own pairs: the first training subjects, paired in order.
    const own = await runPaperMulti(
      multiOptions([
        ...argv,
        "--training-pairs",
        "--train-pairs",
        "2",
        "--steps",
        "1",
        "--sampler-steps",
        "2",
        "--out",
        out,
      ]),
    );
    const trained = (own.report.settings.training as { dataset: { subjects: string[] } }).dataset.subjects;
    expect([...new Set(own.report.records.map((r) => r.subject))]).toEqual([
      `${trained[0]}+${trained[1]}`,
      `${trained[2]}+${trained[3]}`,
    ]);
  });

  it("--multi --standard: the PyTorch sampler and trainer give the studio engines' two-subject records", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paper-multi-torch-"));
    const argv = ["paper", "--multi", "--pack", "tiny", "--pairs", "2", "--prompts", "1", "--seeds", "1"];
    // One recipe for both (the budgets differ in lr), large enough that training moves the records.
    const small = [
      ...argv,
      "--train-pairs",
      "2",
      "--steps",
      "3",
      "--lr",
      "1e-1",
      "--sampler-steps",
      "2",
      "--threads",
      "1",
    ];
    const torch = multiOptions(["paper", "--multi", "--standard"]);
    expect(torch.budget).toMatchObject({
      engine: "torch",
      trainPairs: 128,
      trainSteps: 1000,
      seeds: [101, 102, 103, 104],
    });
    const studio = await runPaperMulti(multiOptions([...small, "--out", join(dir, "studio.json")]));
    const { report } = await runPaperMulti(multiOptions([...small, "--standard", "--out", join(dir, "torch.json")]));
    expect(report.settings).toMatchObject({ engine: "torch", threads: 1 });
    const key = (r: ImageRecord) => `${r.method} ${r.subject} ${r.prompt} ${r.seed}`;
    const expected = new Map(studio.report.records.map((r) => [key(r), r.metrics]));
    expect(report.records).toHaveLength(expected.size);
    let worst = 0;
    for (const r of report.records) {
      const want = expected.get(key(r)) as Record<string, number>;
      for (const [m, v] of Object.entries(r.metrics)) worst = Math.max(worst, Math.abs(v - want[m]));
    }
    // The bound means something only if training moved the records well beyond it.
    const cellKey = (r: ImageRecord) => `${r.subject} ${r.prompt} ${r.seed}`;
    const base = new Map(report.records.filter((r) => r.method === "base").map((r) => [cellKey(r), r.metrics]));
    let moved = 0;
    for (const r of report.records) {
      const b = base.get(cellKey(r)) as Record<string, number>;
      for (const [m, v] of Object.entries(r.metrics)) moved = Math.max(moved, Math.abs(v - b[m]));
    }
    console.log(
      "two-subject records, torch vs studio engines: largest metric difference",
      worst,
      "; trained vs base",
      moved,
    );
    expect(worst).toBeLessThan(1e-3); // a uint8 level on a few pixels moves a PSNR by less
    expect(moved).toBeGreaterThan(1e-2);
  }, 300_000);
});

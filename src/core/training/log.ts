/**
 * A training log as `log.jsonl`: one StepReport per line, what the foundry's PyTorch trainer
 * writes beside its adapter (foundry/foundry/adapter/cli.py) and the studio's curves read.
 */
import type { StepReport } from "./loop";

const OPTIONAL = ["gradNorm", "margin"] as const;

/** Parses and checks a log; throws naming the file, line and field that are wrong. */
export function parseTrainingLog(text: string, name = "log.jsonl"): StepReport[] {
  const reports: StepReport[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const at = `${name} line ${i + 1}`;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      throw new Error(`${at} is not JSON`);
    }
    const num = (k: string) => typeof r[k] === "number";
    if (!Number.isInteger(r.step) || !num("loss") || !num("lr") || !num("ms"))
      throw new Error(`${at}: a step report needs an integer "step" and numbers "loss", "lr", "ms"`);
    for (const k of OPTIONAL) if (k in r && !num(k)) throw new Error(`${at}: "${k}" must be a number`);
    if ("itemErrors" in r && !(Array.isArray(r.itemErrors) && r.itemErrors.every((v) => typeof v === "number")))
      throw new Error(`${at}: "itemErrors" must be a list of numbers`);
    if ("part" in r && r.part !== "generated" && r.part !== "references")
      throw new Error(`${at}: "part" must be "generated" or "references"`);
    const prev = reports.at(-1)?.step ?? 0;
    if ((r.step as number) <= prev) throw new Error(`${at}: step ${r.step} does not follow step ${prev}`);
    reports.push(r as unknown as StepReport);
  }
  if (!reports.length) throw new Error(`${name} holds no step reports`);
  return reports;
}

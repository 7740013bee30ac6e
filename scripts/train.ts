/**
 * `npm run train -- config.json [outDir]`: builds a dataset, trains an adapter and writes
 * `adapter.safetensors` (manifest tensor names) and `log.jsonl` (one StepReport per line) to
 * outDir (default `out/train`). The config is a partial HeadlessConfig (scripts/train/headless.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { exportAdapter } from "../src/core/training/adapter-file";
import { DEFAULT_HEADLESS, dataset, type HeadlessConfig, openPack, train } from "./train/headless";

async function main(): Promise<number> {
  const [configPath, outDir = "out/train"] = process.argv.slice(2);
  if (!configPath) {
    console.error("usage: npm run train -- config.json [outDir]");
    return 2;
  }
  const c: HeadlessConfig = { ...DEFAULT_HEADLESS, ...JSON.parse(readFileSync(configPath, "utf8")) };
  const pack = openPack(c.pack);
  const ds = await dataset(pack, c);
  console.error(`dataset: ${ds.references.length} references, ${ds.samples.length} generated images`);
  mkdirSync(outDir, { recursive: true });
  const lines: string[] = [];
  const result = await train(pack, ds, c, (r) => {
    lines.push(JSON.stringify(r));
    console.error(`step ${r.step} loss ${r.loss.toPrecision(5)} ${r.ms.toFixed(0)} ms`);
  });
  writeFileSync(`${outDir}/log.jsonl`, `${lines.join("\n")}\n`);
  const meta = { config: JSON.stringify(c), backend: result.backend, steps: String(result.reports.length) };
  writeFileSync(`${outDir}/adapter.safetensors`, new Uint8Array(exportAdapter(pack.manifest, result.adapter, meta)));
  if (result.stopped) console.error(result.stopped);
  console.log(
    JSON.stringify({
      out: outDir,
      backend: result.backend,
      steps: result.reports.length,
      stopped: result.stopped ?? null,
    }),
  );
  return result.stopped ? 1 : 0;
}

main().then((code) => process.exit(code));

/**
 * `npm run bench -- [scenario...]`: runs the named scenarios (all when none is named) and prints
 * one JSON line per scenario (options after the names, e.g. `paper --pack tiny`, are read by the scenarios), `{"scenario", "metrics", "env"}`, the last line being the last one's.
 */
import { Harness } from "./harness";
import { scenarios } from "./scenarios/index";

async function main(): Promise<number> {
  // Scenario names come first; options after them (`--pack tiny`) belong to the scenarios.
  const args = process.argv.slice(2);
  const firstOption = args.findIndex((a) => a.startsWith("--"));
  const names = firstOption < 0 ? args : args.slice(0, firstOption);
  const unknown = names.filter((n) => !(n in scenarios));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}`);
    return 2;
  }
  const harness = new Harness();
  let failed = 0;
  try {
    for (const name of names.length ? names : Object.keys(scenarios)) {
      try {
        const { metrics, env } = await scenarios[name].run(harness);
        console.log(JSON.stringify({ scenario: name, metrics, env }));
      } catch (e) {
        failed++;
        console.error(`scenario ${name} failed: ${(e as Error).stack ?? e}`);
      }
    }
  } finally {
    await harness.close();
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code));

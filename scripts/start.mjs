// `npm start`: installs dependencies on a fresh clone, then serves the studio with the dev server.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync("node_modules/.bin/vite")) run("npm", ["ci"]);
run("npx", ["vite", ...process.argv.slice(2)]);

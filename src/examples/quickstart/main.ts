// `npm start`: the order example for real (see launch.ts). Keeps running so the API can be
// explored; Ctrl-C stops every process. `--exit` stops after the two orders; `--dir DIR` keeps
// the SQLite files there (default: a new temporary directory); `--port P` (default 8080).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BUNDLED_DASHBOARD_DIRECTORY } from "../../server/dashboard.js";
import { startQuickstart } from "./launch.js";

const { values } = parseArgs({ options: { exit: { type: "boolean", default: false }, dir: { type: "string" }, port: { type: "string", default: "8080" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`--port must be an integer from 0 to 65535, got ${values.port ?? ""}\n`);
  process.exit(2);
}
const dir = values.dir ?? mkdtempSync(join(tmpdir(), "sagaflow-quickstart-"));
const print = (line: string): void => void process.stdout.write(`${line}\n`);
print(`Sagaflow quickstart: three participant services and the orchestrator, each its own process; SQLite files in ${dir}`);
if (!existsSync(join(BUNDLED_DASHBOARD_DIRECTORY, "index.html"))) {
  // `npm ci` builds it (prepare); a checkout installed otherwise builds it here, once.
  print("Building the dashboard (npm run build:dashboard)…");
  const built = spawnSync("npm", ["run", "--silent", "build:dashboard"], { stdio: ["ignore", "ignore", "inherit"] });
  if (built.status !== 0) print("The dashboard could not be built; the server will say so at its address. The API works without it.");
}
const running = await startQuickstart({ dir, port, print });
if (values.exit) {
  await running.stop();
} else {
  print("");
  print(`Try: curl -s ${running.api}/sagas | head -c 400   ·   Ctrl-C stops everything.`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await running.stop();
}

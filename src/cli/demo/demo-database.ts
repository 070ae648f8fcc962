import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Where a demo runs: the `--db` file, or a fresh file in a new temporary directory. */
export function demoDatabasePath(db: string | undefined): { path: string; temporary: boolean } {
  if (db !== undefined) return { path: resolve(db), temporary: false };
  return { path: join(mkdtempSync(join(tmpdir(), "sagaflow-demo-")), "demo.db"), temporary: true };
}

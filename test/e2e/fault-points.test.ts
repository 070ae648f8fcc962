/**
 * Kills a worker at the durability boundaries of group commit — in the middle of a batch's
 * transaction (SQLite, on the event loop or in its writer thread) or just before its one
 * statement is sent (PostgreSQL), right after a
 * batch committed, and between a commit and the next step's start —
 * and checks that nothing it reported as done is lost, and that no participant call took effect
 * twice.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { FaultPoint } from "../../src/fault-points.js";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { SagaStore } from "../../src/store/saga-store.js";
import { createTestSchema, type TestSchema } from "../support/postgres.js";

const ORDERS = 200;
const dir = mkdtempSync(join(tmpdir(), "sagaflow-faults-"));
const schemas: TestSchema[] = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas) await schema.drop();
});

function run(storeArg: string, ledger: string, args: string[], env: Record<string, string> = {}): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/reporting-worker.ts", storeArg, ledger, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
}

interface Reported {
  started: Map<string, string>;
  ended: Map<string, string>;
}

function parse(stdout: string): Reported {
  const started = new Map<string, string>();
  const ended = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const [kind, a, b] = line.split(" ");
    if (kind === "started" && a && b) started.set(a, b);
    if (kind === "ended" && a && b) ended.set(a, b);
  }
  return { started, ended };
}

const cases: Array<[FaultPoint, number]> = [
  [FaultPoint.WriteBeforeCommit, 8],
  [FaultPoint.WriteAfterCommit, 8],
  [FaultPoint.DriverBeforeRun, 150],
];

// "sqlite-thread": the SQLite store with its writer thread writing every group commit, so the
// kill before COMMIT lands in that thread's transaction.
describe.each(["sqlite", "sqlite-thread", "postgres"])("killing a %s worker at a group-commit boundary", (kind) => {
  it.each(cases)("at %s (hit %i) loses nothing reported as done and applies nothing twice", async (point, hit) => {
    const name = `${kind}-${point.replace(/\W/g, "_")}`;
    let storeArg: string;
    let open: () => Promise<SagaStore>;
    if (kind !== "postgres") {
      const path = join(dir, `${name}.db`);
      storeArg = kind === "sqlite-thread" ? `thread:${path}` : path;
      open = () => openSqliteStore({ path });
    } else {
      const schema = await createTestSchema(`faults_${point.replace(/\W/g, "_")}`);
      schemas.push(schema);
      storeArg = `${schema.url}#${schema.schema}`;
      open = () => openPostgresStore({ connectionString: schema.url, schema: schema.schema });
    }
    const ledger = join(dir, `${name}.ledger.db`);

    const first = run(storeArg, ledger, ["start", String(ORDERS)], { SAGAFLOW_FAULT_POINT: point, SAGAFLOW_FAULT_AFTER: String(hit) });
    expect(first.signal, String(first.stderr)).toBe("SIGKILL");
    const reported = parse(String(first.stdout));
    expect(reported.started.size).toBeGreaterThan(0);

    // The surviving fleet: a second process starts the rest (same keys) and finishes everything.
    const second = run(storeArg, ledger, ["start", String(ORDERS)]);
    expect(second.status, String(second.stderr)).toBe(0);

    const store = await open();
    try {
      for (const [key, id] of reported.started) {
        const found = await store.findByIdempotencyKey(key);
        expect(found?.state.id, `started ${key} before the kill`).toBe(id);
      }
      for (const [id, status] of reported.ended) {
        expect((await store.getInstance(id))?.state.status, `ended ${id} before the kill`).toBe(status);
      }
      const counts = await store.countByStatus();
      expect(counts.running + counts.compensating).toBe(0);
      expect(counts.completed + counts.compensated).toBe(ORDERS);
      expect(counts.compensated).toBe(ORDERS / 4);
    } finally {
      await store.close();
    }

    const db = new Database(ledger, { readonly: true });
    try {
      const rows = db.prepare("SELECT key, applied, calls FROM calls").all() as Array<{ key: string; applied: number; calls: number }>;
      // Each order: three actions, and for every fourth two compensations. Each key applied once.
      expect(rows).toHaveLength(ORDERS * 3 + (ORDERS / 4) * 2);
      expect(rows.every((row) => row.applied === 1)).toBe(true);
    } finally {
      db.close();
    }
  }, 120_000);
});

describe("killing a SQLite writer thread's batch at a group-commit boundary", () => {
  /** One batch of 20 new sagas, written by the thread (see the fixture), with `point` armed at its first hit. */
  function writeOneBatch(path: string, point: FaultPoint): ReturnType<typeof spawnSync> {
    return spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/thread-batch-writer.ts", path, "20"], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, SAGAFLOW_FAULT_POINT: point, SAGAFLOW_FAULT_AFTER: "1" },
    });
  }

  it.each([
    [FaultPoint.WriteBeforeCommit, 0],
    [FaultPoint.WriteAfterCommit, 20],
  ])("at %s keeps none of the batch or all of it, and nothing was reported", async (point, kept) => {
    const path = join(dir, `thread-${point.replace(/\W/g, "_")}.db`);
    const run = writeOneBatch(path, point);
    expect(run.signal, String(run.stderr)).toBe("SIGKILL");
    expect(String(run.stdout)).not.toContain("written");
    const store = await openSqliteStore({ path });
    try {
      expect((await store.countByStatus()).running).toBe(kept);
    } finally {
      await store.close();
    }
  }, 60_000);
});

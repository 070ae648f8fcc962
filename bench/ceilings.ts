// The store's raw durable commit rate, measured in the same run with the same settings as the
// store under test: the ceiling a saga orchestrator on that store is compared with.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import pg from "pg";
import { BackgroundCheckpointer, DEFAULT_CHECKPOINT_PAGES, WRITER_CHECKPOINT_PAGES } from "../src/store/sqlite/background-checkpoint.js";
import { migrate } from "../src/store/sqlite/migrations.js";
import { openDatabase } from "../src/store/sqlite/open-database.js";
import * as q from "../src/store/sqlite/queries.js";
import { StatementRunner } from "../src/store/sqlite/statement-runner.js";
import { commitParams, insertHistoryRows, instanceInsertParams, keepsSchedule, pushHistoryRow } from "../src/store/sqlite/write-params.js";
import { dropSchema, scratchName, withParams } from "./pg.js";
import { successSagaWrites } from "./store-alone.js";

/** One ceiling figure: what was committed, how, and how fast. */
export interface Ceiling {
  store: "sqlite" | "postgres";
  durability: string;
  /** `one-row`, `100-row batch`, … */
  kind: string;
  clients: number;
  rowsPerCommit: number;
  commitsPerSec: number;
  rowsPerSec: number;
  /** Whole sagas per second, for the kinds that write sagas (`saga writes`); absent for plain inserts. */
  sagasPerSec?: number;
}

const PAYLOAD = "x".repeat(200);

function timed(durationMs: number, once: () => void): number {
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < durationMs) {
    once();
    n++;
  }
  return (n / (performance.now() - started)) * 1000;
}

/** SQLite in WAL with the given synchronous level: one-row INSERT per transaction, and 100-row transactions. */
export function sqliteCeilings(synchronous: "FULL" | "NORMAL", durationMs: number): Ceiling[] {
  const dir = mkdtempSync(join(tmpdir(), "sagaflow-bench-ceiling-"));
  const db = new Database(join(dir, "ceiling.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${synchronous}`);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    const batch = db.transaction(() => {
      for (let i = 0; i < 100; i++) insert.run(PAYLOAD);
    });
    const durability = `synchronous=${synchronous}`;
    const one = timed(durationMs, () => insert.run(PAYLOAD));
    const hundred = timed(durationMs, () => batch());
    return [
      { store: "sqlite", durability, kind: "one-row", clients: 1, rowsPerCommit: 1, commitsPerSec: one, rowsPerSec: one },
      { store: "sqlite", durability, kind: "100-row batch", clients: 1, rowsPerCommit: 100, commitsPerSec: hundred, rowsPerSec: hundred * 100 },
    ];
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sagas in flight in the saga-writes ceiling: the concurrency of the SQLite throughput goal it bounds. */
export const SAGA_WRITES_IN_FLIGHT = 512;

/**
 * SQLite doing nothing but what successful sagas need written, with `SAGA_WRITES_IN_FLIGHT` of
 * them in flight: Sagaflow's own schema, statements and parameters (the engine's states as the
 * store serializes them, built once and shared by every saga: the JSON holds no id), each
 * transaction writing the next step of every saga in flight, as a group commit does at that
 * concurrency, through the store's statement runner, with checkpoints on a thread as the store
 * runs them. No engine, no other store code, no JSON per write: whatever Sagaflow does around
 * these statements can only go slower, so a SQLite goal above this figure cannot be met on one
 * connection with this schema. Throws if any write is refused, so it never times no-ops. With
 * `keepAt`, writes that file and leaves it (a store can open it); otherwise a temporary one.
 * Saga ids are `bench-ceiling-<n>`, in creation order like the orchestrator's default UUIDv7s;
 * with `randomIds`, random UUIDs instead, to show what ids a caller picks at random cost.
 */
export async function sqliteSagaWritesCeiling(
  synchronous: "FULL" | "NORMAL",
  durationMs: number,
  options: { keepAt?: string; randomIds?: boolean } = {},
): Promise<Ceiling> {
  const { keepAt, randomIds = false } = options;
  const dir = keepAt === undefined ? mkdtempSync(join(tmpdir(), "sagaflow-bench-ceiling-")) : null;
  const path = dir === null ? (keepAt as string) : join(dir, "saga-writes.db");
  const db = openDatabase({ path, synchronous });
  let checkpointer: BackgroundCheckpointer | undefined;
  try {
    migrate(db, Date.now());
    db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    checkpointer = new BackgroundCheckpointer(path, synchronous, () => db.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`));
    const { create, commits } = successSagaWrites(Date.now(), "bench-ceiling-000000");
    const sql = new StatementRunner(db);
    // Each write's parameters and history row, built once; a saga changes only the id in them.
    const createParams = instanceInsertParams(create);
    const createHistory: unknown[] = [];
    pushHistoryRow(createHistory, createParams.id, 1, create.history, createParams.leaseOwner, createParams.epoch);
    let seq = create.history.length;
    const steps = commits.map((commit) => {
      const history: unknown[] = [];
      pushHistoryRow(history, commit.sagaId, seq + 1, commit.history, commit.workerId, commit.epoch);
      seq += commit.history.length;
      return { params: commitParams(commit), keeps: keepsSchedule(commit), history };
    });
    const stages = 1 + steps.length;
    let nextId = 0;
    const newId = (): string => (randomIds ? randomUUID() : `bench-ceiling-${nextId++}`);
    const ids = Array.from({ length: SAGA_WRITES_IN_FLIGHT }, newId);
    let stage = 0;
    const history: unknown[] = [];
    // Every saga in flight is at the same stage, as they are at high concurrency: one transaction
    // creates them all, the next writes all their first step outcomes, and so on.
    const transaction = db.transaction(() => {
      const step = stage === 0 ? undefined : steps[stage - 1];
      const row = step === undefined ? createHistory : step.history;
      for (const id of ids) {
        history.push(id, row[1], row[2], row[3], row[4], row[5], row[6]);
        if (step === undefined) {
          createParams.id = id;
          if (sql.run(q.INSERT_INSTANCE, createParams).changes !== 1) throw new Error(`the SQLite saga-writes ceiling could not create ${id}`);
          continue;
        }
        step.params.sagaId = id;
        if ((step.keeps ? sql.get(q.UPDATE_COMMITTED_KEEPING_SCHEDULE, step.params) : undefined) === undefined && sql.get(q.UPDATE_COMMITTED, step.params) === undefined) {
          throw new Error(`the SQLite saga-writes ceiling's write ${stage} of ${id} was refused`);
        }
      }
      insertHistoryRows(sql, history);
    });
    const once = (): void => {
      transaction.immediate();
      checkpointer?.wrote();
      stage++;
      if (stage < stages) return;
      stage = 0;
      for (let i = 0; i < ids.length; i++) ids[i] = newId();
    };
    // One whole saga of every slot first, so the measured window starts warm.
    for (let i = 0; i < stages; i++) once();
    const commitsPerSec = timed(durationMs, once);
    return {
      store: "sqlite",
      durability: `synchronous=${synchronous}`,
      kind: randomIds ? "saga writes, random ids" : "saga writes",
      clients: 1,
      rowsPerCommit: SAGA_WRITES_IN_FLIGHT,
      commitsPerSec,
      rowsPerSec: commitsPerSec * SAGA_WRITES_IN_FLIGHT,
      sagasPerSec: (commitsPerSec * SAGA_WRITES_IN_FLIGHT) / stages,
    };
  } finally {
    await checkpointer?.close();
    db.close();
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}

/** `clients` connections committing `rows`-row INSERTs back to back for `durationMs`; commits/s over all of them. */
async function pgCommitRate(url: string, schema: string, clients: number, rows: number, durationMs: number): Promise<number> {
  const values = Array.from({ length: rows }, (_, i) => `($${i + 1})`).join(", ");
  const sql = `INSERT INTO "${schema}".t (v) VALUES ${values}`;
  const params = Array.from({ length: rows }, () => PAYLOAD);
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  try {
    let commits = 0;
    const started = performance.now();
    await Promise.all(
      connections.map(async (client) => {
        while (performance.now() - started < durationMs) {
          await client.query(sql, params);
          commits++;
        }
      }),
    );
    return (commits / (performance.now() - started)) * 1000;
  } finally {
    await Promise.all(connections.map((client) => client.end()));
  }
}

/** PostgreSQL: one-row commits from 1 and 16 clients, and 50-row INSERTs from 1, in a scratch schema dropped afterwards. */
export async function postgresCeilings(url: string, synchronousCommit: "on" | "off", durationMs: number): Promise<Ceiling[]> {
  const schema = scratchName("sagaflow_bench_ceiling");
  const target = withParams(url, { options: `-c synchronous_commit=${synchronousCommit}`, application_name: "sagaflow-bench-ceiling" });
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    await setup.query(`CREATE SCHEMA "${schema}"`);
    await setup.query(`CREATE TABLE "${schema}".t (id bigserial PRIMARY KEY, v text NOT NULL)`);
  } finally {
    await setup.end();
  }
  try {
    const durability = `synchronous_commit=${synchronousCommit}`;
    const rows: Ceiling[] = [];
    for (const [kind, clients, perCommit] of [
      ["one-row", 1, 1],
      ["one-row", 16, 1],
      ["50-row INSERT", 1, 50],
    ] as const) {
      const commitsPerSec = await pgCommitRate(target, schema, clients, perCommit, durationMs);
      rows.push({ store: "postgres", durability, kind, clients, rowsPerCommit: perCommit, commitsPerSec, rowsPerSec: commitsPerSec * perCommit });
    }
    return rows;
  } finally {
    await dropSchema(url, schema);
  }
}

/** The denominator of a row's `ratioToCommitCeiling`: the one-row, one-client commit rate with the same settings. */
export function oneRowCeiling(ceilings: readonly Ceiling[], store: string, durability: string): number | null {
  const found = ceilings.find((c) => c.store === store && c.durability === durability && c.kind === "one-row" && c.clients === 1);
  return found === undefined ? null : found.commitsPerSec;
}

// The store's raw durable commit rate, measured in the same run with the same settings as the
// store under test: the ceiling a saga orchestrator on that store is compared with.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import pg from "pg";
import { dropSchema, scratchName, withParams } from "./pg.js";

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

import { SchemaTooNewError } from "../../errors.js";
import type { PostgresQueries } from "./queries.js";

/** One schema change. Shipped migrations are never edited: a change is a new, higher number. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, given the quoted schema name; run as one multi-statement text. */
  readonly sql: (schema: string) => string;
}

/**
 * Append-only, numbered from 1 without gaps; the same number means the same change as in the
 * SQLite adapter. Times are epoch milliseconds in BIGINT (`*_at_ms`), ids TEXT, JSON TEXT (not
 * JSONB: it is stored and returned verbatim, never queried inside, and JSONB would reorder keys
 * and refuse the `\u0000` escape that JSON.stringify can produce). Ids use the "C" collation so
 * listing and its cursor order ties by UTF-8 bytes, like SQLite's BINARY and `compareIds`.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "saga instances, history and inbox",
    sql: (s) => `
CREATE TABLE ${s}.saga_instances (
  id TEXT COLLATE "C" PRIMARY KEY,
  definition_name TEXT NOT NULL,
  definition_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  idempotency_key TEXT COLLATE "C" UNIQUE,
  state_json TEXT NOT NULL,
  -- NULL when terminal or waiting for nothing; deliveries pull it forward to "now".
  wake_at_ms BIGINT,
  lease_owner TEXT,
  lease_expires_at_ms BIGINT,
  -- Fencing token: bumped by every claim, checked by every write.
  epoch BIGINT NOT NULL DEFAULT 0,
  inbox_seq INTEGER NOT NULL DEFAULT 0,
  inbox_applied_seq INTEGER NOT NULL DEFAULT 0,
  history_count INTEGER NOT NULL DEFAULT 0,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  ended_at_ms BIGINT
);
-- Claims and next-wake look-ups walk only instances that wait for something.
CREATE INDEX saga_instances_due ON ${s}.saga_instances (wake_at_ms) WHERE wake_at_ms IS NOT NULL;
CREATE INDEX saga_instances_listing ON ${s}.saga_instances (created_at_ms DESC, id DESC);
CREATE INDEX saga_instances_status_listing ON ${s}.saga_instances (status, created_at_ms DESC, id DESC);

CREATE TABLE ${s}.saga_events (
  saga_id TEXT COLLATE "C" NOT NULL REFERENCES ${s}.saga_instances (id),
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  worker_id TEXT,
  epoch BIGINT,
  entry_json TEXT NOT NULL,
  PRIMARY KEY (saga_id, seq)
);

CREATE TABLE ${s}.saga_inbox (
  saga_id TEXT COLLATE "C" NOT NULL REFERENCES ${s}.saga_instances (id),
  seq INTEGER NOT NULL,
  event_json TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  PRIMARY KEY (saga_id, seq)
);
`,
  },
  {
    version: 2,
    name: "history and inbox without foreign keys; due index in claim order",
    // The store is the only writer of these tables and never deletes an instance; it writes a
    // history entry or an inbox message only in the statement or transaction that creates, locks
    // or updates its instance (see queries.ts), so the references always hold. The constraint
    // triggers cost about a quarter of the server's time per write. The fillfactor leaves room in
    // each page so that updates which change no indexed column (claims, renewals, and commits
    // that keep the lease, which leave `wake_at_ms` alone) are HOT: no index is touched. It
    // applies to pages written from now on.
    sql: (s) => `
ALTER TABLE ${s}.saga_events DROP CONSTRAINT IF EXISTS saga_events_saga_id_fkey;
ALTER TABLE ${s}.saga_inbox DROP CONSTRAINT IF EXISTS saga_inbox_saga_id_fkey;
ALTER TABLE ${s}.saga_instances SET (fillfactor = 50);
-- Claims take due instances in (wake_at_ms, id) order with a LIMIT: with both columns the index
-- hands them over in that order, so a claim reads as many rows as it takes instead of sorting
-- every due instance (10,000 in flight: a full sort per claim).
CREATE INDEX saga_instances_due_order ON ${s}.saga_instances (wake_at_ms, id) WHERE wake_at_ms IS NOT NULL;
DROP INDEX ${s}.saga_instances_due;
`,
  },
  {
    version: 3,
    name: "history as one row per write",
    // A write appends all of its entries (a saga's start and first attempt, a step's outcome and
    // the next attempt) as one row holding their JSON array, numbered from the first entry's seq:
    // half the rows and index entries of one row per entry, which were most of the server's work
    // per saga. Existing entries become rows of one entry each, their numbers unchanged.
    sql: (s) => `
CREATE TABLE ${s}.saga_history (
  saga_id TEXT COLLATE "C" NOT NULL,
  seq INTEGER NOT NULL,
  entry_count INTEGER NOT NULL,
  at_ms BIGINT NOT NULL,
  worker_id TEXT,
  epoch BIGINT,
  entries_json TEXT NOT NULL,
  PRIMARY KEY (saga_id, seq)
);
INSERT INTO ${s}.saga_history (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
  SELECT saga_id, seq, 1, at_ms, worker_id, epoch, '[' || entry_json || ']' FROM ${s}.saga_events;
DROP TABLE ${s}.saga_events;
`,
  },
  {
    version: 4,
    name: "saga definitions saved at run time",
    // Declarative definitions registered through the API, shared by every worker of the fleet;
    // `name@version` is the key and is never rewritten (see `insertDefinition` for the race).
    // Names use the "C" collation so listings order them by code point, as SQLite and the memory
    // store do; versions order numerically.
    sql: (s) => `
CREATE TABLE ${s}.saga_definitions (
  name TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  hash TEXT NOT NULL,
  document_json TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (name, version)
);
`,
  },
  {
    version: 5,
    name: "index of ended instances by end time",
    // The dashboard's activity charts count sagas by the minute they ended. Partial: a running
    // saga has no entry, and each saga adds its one entry in the update that ends it (an update
    // that already touches the status index, so it is not a HOT update anyway). Built without
    // CONCURRENTLY, since migrations run in a transaction: on a large table writes wait for it.
    sql: (s) => `
CREATE INDEX saga_instances_ended ON ${s}.saga_instances (ended_at_ms) WHERE ended_at_ms IS NOT NULL;
`,
  },
  {
    version: 6,
    name: "unique index of idempotency keys without the sagas that have none",
    // A unique index holds NULLs too: every saga started without a key had an entry, written on
    // creation and again by each update that is not HOT (the one that ends it, at least). Partial,
    // it holds only keys: 13.6 instead of 15.3 index entries per 3-step saga at C=512 (counted with
    // pg_waldump). Lookups by key (= $1, = ANY) imply NOT NULL, so they use it, and creates' ON
    // CONFLICT DO NOTHING (no target) takes every unique index as an arbiter, partial ones too.
    sql: (s) => `
CREATE UNIQUE INDEX saga_instances_idempotency_key ON ${s}.saga_instances (idempotency_key) WHERE idempotency_key IS NOT NULL;
ALTER TABLE ${s}.saga_instances DROP CONSTRAINT saga_instances_idempotency_key_key;
`,
  },
  {
    version: 7,
    name: "history rows appended in write order; states stored without the columns' fields",
    // SQLite's migration 7 moves its history to a table with rowids, which PostgreSQL's heap
    // already is. What applies here: from this version on, `state_json` leaves out what the row
    // holds in columns (id, definition, idempotency key, status, created and updated times; see
    // src/store/state-json.ts). A Sagaflow from before reads such rows wrong; this migration is
    // what makes it refuse the schema (SCHEMA_TOO_NEW) instead, and the comment says so to anyone
    // reading the table.
    sql: (s) => `
COMMENT ON COLUMN ${s}.saga_instances.state_json IS 'the state as JSON without the fields this row holds in columns of its own (Sagaflow migration 7)';
`,
  },
  {
    version: 8,
    name: "a failure's error stored once: a stop's as its step's last error, a giving-up's as the failure before it",
    // As SQLite's migration 8: from this version on, a stop whose error is the last error of the
    // step it names holds `"errorOf": "<phase>"` instead of a second copy (see
    // src/store/state-json.ts), and a history row's giving-up entry whose error is that of the
    // failure just before it `"errorAsBefore": true` (src/store/history-json.ts), which a
    // Sagaflow from before would read without their errors.
    sql: (s) => `
COMMENT ON COLUMN ${s}.saga_instances.state_json IS 'the state as JSON without the fields this row holds in columns of its own (Sagaflow migration 7), a stop''s error given as its step''s last error (migration 8)';
COMMENT ON COLUMN ${s}.saga_history.entries_json IS 'the JSON array of the entries one write appended; a phase_gave_up entry may give its error as that of the attempt_failed before it (Sagaflow migration 8)';
`,
  },
];

/** The schema version this code writes and understands. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** Runs one statement inside the migration transaction. */
export type MigrationQuery = <Row>(sql: string, params?: readonly unknown[]) => Promise<Row[]>;

/**
 * Brings the schema up to `LATEST_SCHEMA_VERSION`. Must run inside one transaction: the advisory
 * lock taken first is held until it ends, so of several workers starting at once exactly one
 * creates the schema and applies each migration, and the others then read its ledger. Only
 * what is missing is created, so a role without CREATE rights can start on a schema that is
 * already current. Throws `SchemaTooNewError` (the caller rolls back) when a newer Sagaflow
 * migrated the schema. Returns how many migrations were applied.
 */
export async function migrate(query: MigrationQuery, q: PostgresQueries, lockKey: string, nowMs: number): Promise<number> {
  await query(q.lockMigrations, [lockKey]);
  const [found] = await query<{ schema_exists: boolean; ledger_exists: boolean }>(q.selectSchemaState, [q.schemaName, q.ledgerRegclass]);
  if (found?.schema_exists !== true) await query(q.createSchema);
  if (found?.ledger_exists !== true) await query(q.createLedger);
  const [row] = await query<{ version: number | null }>(q.selectSchemaVersion);
  const current = row?.version ?? 0;
  if (current > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(current, LATEST_SCHEMA_VERSION);
  const pending = MIGRATIONS.filter((m) => m.version > current);
  for (const migration of pending) {
    await query(migration.sql(q.schemaIdentifier));
    await query(q.insertMigration, [migration.version, migration.name, nowMs]);
  }
  return pending.length;
}

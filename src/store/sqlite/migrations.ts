import type Database from "better-sqlite3";
import { SchemaTooNewError } from "../../errors.js";
import { CREATE_LEDGER, INSERT_MIGRATION, SELECT_SCHEMA_VERSION } from "./queries.js";

/** One schema change. Shipped migrations are never edited: a change is a new, higher number. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Append-only, numbered from 1 without gaps; the same number means the same change in every
 * dialect. Times are epoch milliseconds (`*_at_ms`), ids text, JSON text.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "saga instances, history and inbox",
    sql: `
CREATE TABLE saga_instances (
  id TEXT PRIMARY KEY,
  definition_name TEXT NOT NULL,
  definition_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  state_json TEXT NOT NULL,
  -- NULL when terminal or waiting for nothing; deliveries pull it forward to "now".
  wake_at_ms INTEGER,
  lease_owner TEXT,
  lease_expires_at_ms INTEGER,
  -- Fencing token: bumped by every claim, checked by every write.
  epoch INTEGER NOT NULL DEFAULT 0,
  inbox_seq INTEGER NOT NULL DEFAULT 0,
  inbox_applied_seq INTEGER NOT NULL DEFAULT 0,
  history_count INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  ended_at_ms INTEGER
);
-- Claims and next-wake look-ups walk only instances that wait for something.
CREATE INDEX saga_instances_due ON saga_instances (wake_at_ms) WHERE wake_at_ms IS NOT NULL;
CREATE INDEX saga_instances_listing ON saga_instances (created_at_ms DESC, id DESC);
CREATE INDEX saga_instances_status_listing ON saga_instances (status, created_at_ms DESC, id DESC);

CREATE TABLE saga_events (
  saga_id TEXT NOT NULL REFERENCES saga_instances (id),
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  worker_id TEXT,
  epoch INTEGER,
  entry_json TEXT NOT NULL,
  PRIMARY KEY (saga_id, seq)
) WITHOUT ROWID;

CREATE TABLE saga_inbox (
  saga_id TEXT NOT NULL REFERENCES saga_instances (id),
  seq INTEGER NOT NULL,
  event_json TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY (saga_id, seq)
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: "history and inbox without foreign keys; due index in claim order",
    // The store is the only writer of these tables and never deletes an instance; it writes a
    // history entry or an inbox message only in the transaction that creates or updates its
    // instance, so the references always hold without being checked on every insert. SQLite
    // cannot drop a constraint, so both tables are rebuilt without it (same columns, same keys).
    // Claims take due instances in (wake_at_ms, id) order, which the new due index hands over as
    // is. PostgreSQL's migration 2 also sets a fillfactor, which has no SQLite equivalent.
    sql: `
CREATE TABLE saga_events_v2 (
  saga_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  worker_id TEXT,
  epoch INTEGER,
  entry_json TEXT NOT NULL,
  PRIMARY KEY (saga_id, seq)
) WITHOUT ROWID;
INSERT INTO saga_events_v2 (saga_id, seq, type, at_ms, worker_id, epoch, entry_json)
  SELECT saga_id, seq, type, at_ms, worker_id, epoch, entry_json FROM saga_events;
DROP TABLE saga_events;
ALTER TABLE saga_events_v2 RENAME TO saga_events;

CREATE TABLE saga_inbox_v2 (
  saga_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_json TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY (saga_id, seq)
) WITHOUT ROWID;
INSERT INTO saga_inbox_v2 (saga_id, seq, event_json, received_at_ms) SELECT saga_id, seq, event_json, received_at_ms FROM saga_inbox;
DROP TABLE saga_inbox;
ALTER TABLE saga_inbox_v2 RENAME TO saga_inbox;

CREATE INDEX saga_instances_due_order ON saga_instances (wake_at_ms, id) WHERE wake_at_ms IS NOT NULL;
DROP INDEX saga_instances_due;
`,
  },
  {
    version: 3,
    name: "history as one row per write",
    // A write appends all of its entries (a saga's start and first attempt, a step's outcome and
    // the next attempt) as one row holding their JSON array, numbered from the first entry's seq:
    // half the rows of one row per entry. Existing entries become rows of one entry each, their
    // numbers unchanged.
    sql: `
CREATE TABLE saga_history (
  saga_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  entry_count INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  worker_id TEXT,
  epoch INTEGER,
  entries_json TEXT NOT NULL,
  PRIMARY KEY (saga_id, seq)
) WITHOUT ROWID;
INSERT INTO saga_history (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
  SELECT saga_id, seq, 1, at_ms, worker_id, epoch, '[' || entry_json || ']' FROM saga_events;
DROP TABLE saga_events;
`,
  },
  {
    version: 4,
    name: "saga definitions saved at run time",
    // Declarative definitions registered through the API, shared by every process on the file;
    // `name@version` is the key and is never rewritten. A table with rowids, unlike the others:
    // documents may reach 1 MiB, and SQLite advises WITHOUT ROWID only for rows well under a
    // page. Versions order numerically in listings, names by BINARY (code point) collation.
    sql: `
CREATE TABLE saga_definitions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  hash TEXT NOT NULL,
  document_json TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);
`,
  },
  {
    version: 5,
    name: "index of ended instances by end time",
    // The dashboard's activity charts count sagas by the minute they ended. Partial: a running
    // saga has no entry, and each saga adds its one entry in the write that ends it.
    sql: `
CREATE INDEX saga_instances_ended ON saga_instances (ended_at_ms) WHERE ended_at_ms IS NOT NULL;
`,
  },
  {
    version: 6,
    name: "unique index of idempotency keys without the sagas that have none",
    // PostgreSQL's migration 6 made its key index partial. SQLite keeps the column's UNIQUE
    // constraint: dropping it means rebuilding the instances table, and its NULL entries (sagas
    // without a key) all go to the same page, so leaving them out measured no difference here.
    // Recorded all the same, so that a number means the same change in both dialects.
    sql: "",
  },
  {
    version: 7,
    name: "history rows appended in write order; states stored without the columns' fields",
    // WITHOUT ROWID kept the rows in (saga_id, seq) order, so each write put its row beside the
    // saga's earlier ones: a group commit of N sagas dirtied about N pages of history spread over
    // the table (every page of the in-flight sagas' region at high concurrency, a random page per
    // row with random ids), each one a WAL frame. A rowid table appends rows to its last pages and
    // keeps (saga_id, seq) as a small unique index: 226 → 166 WAL frames per 512-saga transaction
    // measured, 1.2× the saga-writes rate. Same columns and key as PostgreSQL's heap table.
    // From this version on, `state_json` also leaves out what the row holds in columns (see
    // src/store/state-json.ts): a Sagaflow from before reads such rows wrong, and this migration
    // is what makes it refuse the file (SCHEMA_TOO_NEW) instead.
    sql: `
CREATE TABLE saga_history_v6 (
  saga_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  entry_count INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  worker_id TEXT,
  epoch INTEGER,
  entries_json TEXT NOT NULL,
  PRIMARY KEY (saga_id, seq)
);
INSERT INTO saga_history_v6 (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
  SELECT saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json FROM saga_history;
DROP TABLE saga_history;
ALTER TABLE saga_history_v6 RENAME TO saga_history;
`,
  },
  {
    version: 8,
    name: "a failure's error stored once: a stop's as its step's last error, a giving-up's as the failure before it",
    // No change to the tables. From this version on, a `state_json` whose stop's error is the
    // last error of the step it names holds `"errorOf": "<phase>"` instead of a second copy (see
    // src/store/state-json.ts), and a history row's `phase_gave_up` entry whose error is that of
    // the `attempt_failed` just before it holds `"errorAsBefore": true` (src/store/history-json.ts):
    // a Sagaflow from before would read those without their error; this migration is what makes
    // it refuse the file (SCHEMA_TOO_NEW) instead.
    sql: "",
  },
];

/** The schema version this code writes and understands. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Brings the database up to `LATEST_SCHEMA_VERSION`, applying each pending migration and its
 * ledger row together. IMMEDIATE takes the write lock before reading the version, so two
 * processes starting on a new file cannot both apply migration 1. Returns how many were applied.
 * Throws `SchemaTooNewError` (writing nothing) when a newer Sagaflow already migrated the file.
 */
export function migrate(db: Database.Database, nowMs: number): number {
  const apply = db.transaction((): number => {
    db.exec(CREATE_LEDGER);
    const row = db.prepare<[], { version: number | null }>(SELECT_SCHEMA_VERSION).get();
    const current = row?.version ?? 0;
    if (current > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(current, LATEST_SCHEMA_VERSION);
    const pending = MIGRATIONS.filter((m) => m.version > current);
    const record = db.prepare<[{ version: number; name: string; appliedAtMs: number }]>(INSERT_MIGRATION);
    for (const migration of pending) {
      db.exec(migration.sql);
      record.run({ version: migration.version, name: migration.name, appliedAtMs: nowMs });
    }
    return pending.length;
  });
  return apply.immediate();
}

/**
 * Every SQL statement the SQLite adapter runs, with what it is for and its parameters.
 * Values are always bound as parameters; the only text spliced into SQL is the constant
 * list of terminal statuses and the fixed fragments of the list query.
 */
import { TERMINAL_STATUSES } from "../../domain/status.js";
import { stateColumnList } from "../state-json.js";

/** `'completed', 'compensated', 'failed'`, from the domain so the two cannot drift apart. */
const TERMINAL = TERMINAL_STATUSES.map((status) => `'${status}'`).join(", ");
/**
 * A `failed` instance with a message it has not applied: an operator's retry (the only message
 * delivered to a failed saga), which the claim hands to a worker to reopen it.
 */
const REOPENED = "(status = 'failed' AND inbox_seq > inbox_applied_seq)";

/** The columns a state is built from (see `StateRow`). */
const STATE_COLUMNS = stateColumnList();
/** The columns an `InstanceRecord` is built from (see `InstanceRow`). */
const INSTANCE_COLUMNS = `${STATE_COLUMNS}, epoch, lease_owner, lease_expires_at_ms, inbox_seq, inbox_applied_seq`;

// --- opening and migrations -------------------------------------------------------------

/** Reads page 1 and the schema without writing, so a file that is not SQLite fails here untouched. No parameters. */
export const PROBE_DATABASE = "SELECT count(*) AS objects FROM sqlite_schema";

/** Whether the migrations ledger exists, i.e. this is a Sagaflow database. No parameters. */
export const SELECT_LEDGER_EXISTS = "SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = 'sagaflow_migrations'";

/** Creates the migrations ledger on first use. No parameters. */
export const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS sagaflow_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at_ms INTEGER NOT NULL
)`;

/** The schema version the database is at (null when no migration ran yet). No parameters. */
export const SELECT_SCHEMA_VERSION = "SELECT MAX(version) AS version FROM sagaflow_migrations";

/** Records one applied migration. @version, @name, @appliedAtMs. */
export const INSERT_MIGRATION = "INSERT INTO sagaflow_migrations (version, name, applied_at_ms) VALUES (@version, @name, @appliedAtMs)";

// --- instances -------------------------------------------------------------------------

/**
 * Creates an instance. @id, @definitionName, @definitionVersion, @status, @idempotencyKey,
 * @stateJson, @wakeAtMs, @leaseOwner, @leaseExpiresAtMs, @epoch, @historyCount, @createdAtMs,
 * @updatedAtMs, @endedAtMs. A reused idempotency key writes nothing (changes = 0): with the write
 * lock held, this is what keeps two processes that create with one key from both succeeding.
 */
export const INSERT_INSTANCE = `INSERT INTO saga_instances (
  id, definition_name, definition_version, status, idempotency_key, state_json, wake_at_ms,
  lease_owner, lease_expires_at_ms, epoch, history_count, created_at_ms, updated_at_ms, ended_at_ms
) VALUES (
  @id, @definitionName, @definitionVersion, @status, @idempotencyKey, @stateJson, @wakeAtMs,
  @leaseOwner, @leaseExpiresAtMs, @epoch, @historyCount, @createdAtMs, @updatedAtMs, @endedAtMs
) ON CONFLICT (idempotency_key) DO NOTHING`;

/** One instance by id. Positional: sagaId. */
export const SELECT_INSTANCE = `SELECT ${INSTANCE_COLUMNS} FROM saga_instances WHERE id = ?`;

/** One instance by idempotency key. Positional: key. */
export const SELECT_INSTANCE_BY_KEY = `SELECT ${INSTANCE_COLUMNS} FROM saga_instances WHERE idempotency_key = ?`;

/** Instance count per status. No parameters. */
export const COUNT_BY_STATUS = "SELECT status, COUNT(*) AS count FROM saga_instances GROUP BY status";

/** Unfinished instances per definition version; walks the status index. No parameters. */
export const COUNT_UNFINISHED_BY_DEFINITION = `
SELECT definition_name AS definitionName, definition_version AS definitionVersion, COUNT(*) AS count
  FROM saga_instances WHERE status IN ('running', 'compensating')
  GROUP BY definition_name, definition_version ORDER BY definition_name COLLATE BINARY, definition_version`;

/**
 * Starts by creation time and ends by end time, per bucket index from `@fromMs`; each half walks
 * its own index (listing, ended) over the range only. Parameters fromMs, toMs, bucketMs. The
 * driver binds JavaScript numbers as REAL, so the division is made integer by casting them.
 */
export const ACTIVITY = `
SELECT (created_at_ms - CAST(@fromMs AS INTEGER)) / CAST(@bucketMs AS INTEGER) AS bucket, 'started' AS kind, COUNT(*) AS count
  FROM saga_instances WHERE created_at_ms >= @fromMs AND created_at_ms < @toMs GROUP BY bucket
UNION ALL
SELECT (ended_at_ms - CAST(@fromMs AS INTEGER)) / CAST(@bucketMs AS INTEGER) AS bucket, status AS kind, COUNT(*) AS count
  FROM saga_instances WHERE ended_at_ms >= @fromMs AND ended_at_ms < @toMs GROUP BY bucket, status`;

/** Which filters a list query uses; each present one adds a fixed fragment and its parameters. */
export interface ListFilters {
  statuses: boolean;
  definitionName: boolean;
  createdFromMs: boolean;
  createdToMs: boolean;
  after: boolean;
}

/**
 * A page of instances, newest first. Parameters, each only with its filter: @statuses (JSON array),
 * @definitionName, @createdFromMs (inclusive), @createdToMs (exclusive), @afterCreatedAtMs and
 * @afterId (the cursor: strictly after it in list order); always @limit. Built per filter set
 * rather than with `@x IS NULL OR …` so the planner can use the listing indexes.
 */
export function buildListQuery(filters: ListFilters): string {
  const where: string[] = [];
  if (filters.statuses) where.push("status IN (SELECT value FROM json_each(@statuses))");
  if (filters.definitionName) where.push("definition_name = @definitionName");
  if (filters.createdFromMs) where.push("created_at_ms >= @createdFromMs");
  if (filters.createdToMs) where.push("created_at_ms < @createdToMs");
  if (filters.after) where.push("(created_at_ms, id) < (@afterCreatedAtMs, @afterId)");
  const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
  return `SELECT ${STATE_COLUMNS} FROM saga_instances ${clause} ORDER BY created_at_ms DESC, id DESC LIMIT @limit`;
}

// --- claiming and leases ---------------------------------------------------------------

/**
 * Leases up to @limit due instances of the @definitions (JSON array of `name@version`) to
 * @workerId until @leaseExpiresAtMs, as of @nowMs. Selecting and leasing in one UPDATE, inside
 * an IMMEDIATE transaction, is what stops two workers from claiming the same instance; the epoch
 * bump fences out the previous owner. RETURNING order is unspecified: callers sort.
 */
export const CLAIM_DUE = `UPDATE saga_instances
SET epoch = epoch + 1, lease_owner = @workerId, lease_expires_at_ms = @leaseExpiresAtMs
WHERE id IN (
  SELECT id FROM saga_instances
  WHERE wake_at_ms <= @nowMs
    AND (status NOT IN (${TERMINAL}) OR ${REOPENED})
    AND definition_name || '@' || definition_version IN (SELECT value FROM json_each(@definitions))
    AND (lease_owner IS NULL OR lease_expires_at_ms < @nowMs)
  ORDER BY wake_at_ms, id
  LIMIT @limit
)
RETURNING ${INSTANCE_COLUMNS}, wake_at_ms`;

/**
 * The earliest time a claim of the @definitions (JSON array) could return something: the wake-up
 * of an unleased instance, or for a leased one the first millisecond after its lease expires
 * (claims take only leases that expired strictly before now).
 */
export const SELECT_NEXT_WAKE = `SELECT MIN(CASE WHEN lease_owner IS NULL THEN wake_at_ms
                  ELSE MAX(wake_at_ms, lease_expires_at_ms + 1) END) AS next_wake_at_ms
FROM saga_instances
WHERE wake_at_ms IS NOT NULL
  AND (status NOT IN (${TERMINAL}) OR ${REOPENED})
  AND definition_name || '@' || definition_version IN (SELECT value FROM json_each(@definitions))`;

/** Extends a lease still held by @workerId at @epoch on @sagaId to @expiresAtMs; one that expired before @nowMs stays lost. */
export const RENEW_LEASE = `UPDATE saga_instances SET lease_expires_at_ms = @expiresAtMs
WHERE id = @sagaId AND epoch = @epoch AND lease_owner = @workerId AND lease_expires_at_ms >= @nowMs`;

/** Gives back the lease of @workerId at @epoch on @sagaId; the epoch stays, the next claim bumps it. */
export const RELEASE_LEASE = `UPDATE saga_instances SET lease_owner = NULL, lease_expires_at_ms = NULL
WHERE id = @sagaId AND epoch = @epoch AND lease_owner = @workerId`;

// --- committing transitions ------------------------------------------------------------

/** What a commit is checked against (fencing, inbox, history numbering). Positional: sagaId. */
export const SELECT_COMMIT_GUARD = `SELECT epoch, lease_owner, lease_expires_at_ms, inbox_seq, inbox_applied_seq, history_count
FROM saga_instances WHERE id = ?`;

/**
 * Writes a committed transition if, and only if, the commit may be written: @sagaId still at
 * @epoch, leased to @workerId until at least @nowMs, with no inbox message beyond @inboxSeq (the
 * seq the commit applied). The fencing check and the write are one statement, so nothing can slip
 * in between (and the write lock is held anyway). Sets @stateJson, @status, @wakeAtMs,
 * @updatedAtMs, @endedAtMs, @leaseOwner and @leaseExpiresAtMs (both null to release), and adds
 * @historyAdded to the history count. Returns the new history count; no row when refused (the
 * caller then reads `SELECT_COMMIT_GUARD` to say why).
 */
export const UPDATE_COMMITTED = `UPDATE saga_instances
SET state_json = @stateJson, status = @status, wake_at_ms = @wakeAtMs, updated_at_ms = @updatedAtMs,
    ended_at_ms = @endedAtMs, lease_owner = @leaseOwner, lease_expires_at_ms = @leaseExpiresAtMs,
    inbox_applied_seq = @inboxSeq, history_count = history_count + @historyAdded
WHERE id = @sagaId AND epoch = @epoch AND lease_owner = @workerId AND lease_expires_at_ms >= @nowMs
  AND inbox_seq = @inboxSeq
RETURNING history_count`;

/**
 * `UPDATE_COMMITTED` for the usual transition, a step's outcome and the next step's start: the
 * instance keeps its lease and status and is due by @nowMs (@wakeAtMs ≤ @nowMs). It leaves the
 * stored `wake_at_ms` as it is when that is due no later than @wakeAtMs; the state JSON holds the
 * real one. Both are due, so which instances a claim may take (once the lease runs out) and the
 * next wake-up (the lease's end) are the same; only claims' order among due instances can differ,
 * oldest wake-up first (the PostgreSQL adapter does the same). Setting no indexed column, it
 * touches no index: SQLite rewrites the entries of every index on a column an UPDATE sets, even
 * to the same value. Matches nothing when the stored row differs in any of that (or the fencing
 * fails); the caller then runs `UPDATE_COMMITTED`. Takes `UPDATE_COMMITTED`'s parameters, and uses
 * all but @endedAtMs and @leaseOwner.
 */
export const UPDATE_COMMITTED_KEEPING_SCHEDULE = `UPDATE saga_instances
SET state_json = @stateJson, updated_at_ms = @updatedAtMs, lease_expires_at_ms = @leaseExpiresAtMs,
    inbox_applied_seq = @inboxSeq, history_count = history_count + @historyAdded
WHERE id = @sagaId AND epoch = @epoch AND lease_owner = @workerId AND lease_expires_at_ms >= @nowMs
  AND inbox_seq = @inboxSeq AND status = @status AND ended_at_ms IS NULL AND wake_at_ms <= @wakeAtMs
RETURNING history_count`;

/**
 * An operator's move of an unleased instance onto another definition version: only at @epoch and
 * with no live lease at @nowMs; bumps the epoch (fencing) and the history count by @historyAdded.
 * Returns the history count before the move; no row when refused.
 */
export const MOVE_INSTANCE = `UPDATE saga_instances
SET definition_version = @definitionVersion, state_json = @stateJson, status = @status, wake_at_ms = @wakeAtMs,
    updated_at_ms = @updatedAtMs, epoch = epoch + 1, lease_owner = NULL, lease_expires_at_ms = NULL,
    history_count = history_count + @historyAdded
WHERE id = @sagaId AND epoch = @epoch AND (lease_owner IS NULL OR lease_expires_at_ms < @nowMs)
RETURNING history_count - @historyAdded AS history_before`;

/** What a refused move is checked against. Positional: sagaId. */
export const SELECT_MOVE_GUARD = "SELECT epoch, lease_owner, lease_expires_at_ms FROM saga_instances WHERE id = ?";

/** Makes room for history entries written outside a commit (a rejected write's record). @sagaId, @added. */
export const ADD_HISTORY_COUNT = "UPDATE saga_instances SET history_count = history_count + @added WHERE id = @sagaId";

/** Columns of one history row, in the order `insertHistory` binds them. */
export const HISTORY_COLUMNS = 7;

/**
 * Appends `rows` history rows in one statement (a group commit collects its rows and writes them
 * together), each the JSON array of the entries one write appended, numbered from its first.
 * Positional, per row: saga id, seq of the first entry, entry count, at_ms, worker id, epoch,
 * entries JSON.
 */
export function insertHistory(rows: number): string {
  return HISTORY_INSERT_PREFIX + Array.from({ length: rows }, () => HISTORY_ROW_PLACEHOLDERS).join(", ");
}

/** `insertHistory`'s text up to its rows (the writer thread builds the same text from these two). */
export const HISTORY_INSERT_PREFIX = "INSERT INTO saga_history (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json) VALUES ";
/** One row of `insertHistory`. */
export const HISTORY_ROW_PLACEHOLDERS = "(?, ?, ?, ?, ?, ?, ?)";

/** An instance's history rows in order (see `toStoredHistory`). Positional: sagaId. */
export const SELECT_HISTORY = "SELECT seq, worker_id, epoch, entries_json FROM saga_history WHERE saga_id = ? ORDER BY seq";

// --- inbox ----------------------------------------------------------------------------

/**
 * Numbers a new message for @sagaId and makes the instance due at @nowMs (sooner if it already
 * was); matches nothing for a terminal or unknown instance, except a `failed` one when @reopens
 * (1: an operator's retry). Returns the message's seq.
 */
export const RESERVE_INBOX_SEQ = `UPDATE saga_instances
SET inbox_seq = inbox_seq + 1, wake_at_ms = MIN(COALESCE(wake_at_ms, @nowMs), @nowMs)
WHERE id = @sagaId AND (status NOT IN (${TERMINAL}) OR (status = 'failed' AND @reopens = 1))
RETURNING inbox_seq`;

/** Why a delivery was refused: the instance's status, if it exists. Positional: sagaId. */
export const SELECT_STATUS = "SELECT status FROM saga_instances WHERE id = ?";

/** Stores one inbox message. @sagaId, @seq, @eventJson, @receivedAtMs. */
export const INSERT_INBOX = `INSERT INTO saga_inbox (saga_id, seq, event_json, received_at_ms)
VALUES (@sagaId, @seq, @eventJson, @receivedAtMs)`;

/** Messages of @sagaId after @afterSeq, oldest first. */
export const SELECT_INBOX_AFTER = `SELECT seq, event_json, received_at_ms FROM saga_inbox
WHERE saga_id = @sagaId AND seq > @afterSeq ORDER BY seq`;

/** Drops the messages of @sagaId a commit applied (seq ≤ @inboxSeq). */
export const DELETE_APPLIED_INBOX = "DELETE FROM saga_inbox WHERE saga_id = @sagaId AND seq <= @inboxSeq";

// --- saga definitions ------------------------------------------------------------------

/** The columns a `StoredDefinition` is built from (see `DefinitionRow`). */
const DEFINITION_COLUMNS = "name, version, hash, document_json, created_at_ms";

/**
 * Saves a definition unless its name@version is taken: @name, @version, @hash, @documentJson,
 * @createdAtMs. A taken one writes nothing (changes = 0) and the caller reads what is kept with
 * `SELECT_DEFINITION` in the same IMMEDIATE transaction. The write lock is held from before the
 * insert to after the read, so of two processes saving one name@version with different hashes
 * exactly one writes, and the other reads the winner's row, never a row still to come.
 */
export const INSERT_DEFINITION = `INSERT INTO saga_definitions (${DEFINITION_COLUMNS})
VALUES (@name, @version, @hash, @documentJson, @createdAtMs)
ON CONFLICT (name, version) DO NOTHING`;

/** One definition. Positional: name, version. */
export const SELECT_DEFINITION = `SELECT ${DEFINITION_COLUMNS} FROM saga_definitions WHERE name = ? AND version = ?`;

/** Every definition, by name (BINARY: code point order, as the other adapters) then version. No parameters. */
export const SELECT_DEFINITIONS = `SELECT ${DEFINITION_COLUMNS} FROM saga_definitions ORDER BY name, version`;

// --- connection settings ---------------------------------------------------------------

/**
 * Per-connection settings, applied after the file was probed. Values are spliced because PRAGMA
 * takes no parameters; they come from the checked `SqliteStoreOptions` (an integer and an enum).
 */
export function connectionPragmas(settings: { busyTimeoutMs: number; synchronous: "FULL" | "NORMAL" }): {
  busyTimeout: string;
  journalMode: string;
  settings: string[];
} {
  return {
    // Set first, so the probe already waits out a writer's lock instead of failing at once.
    busyTimeout: `PRAGMA busy_timeout = ${settings.busyTimeoutMs}`,
    // Answers the mode in force, which stays the old one if the switch could not be made.
    journalMode: "PRAGMA journal_mode = WAL",
    settings: [`PRAGMA synchronous = ${settings.synchronous}`, "PRAGMA foreign_keys = ON"],
  };
}

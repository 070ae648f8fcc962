/**
 * Every SQL statement the PostgreSQL adapter runs, with what it is for and its parameters ($n).
 * Values are always parameters; the only text spliced into SQL is the schema identifier (checked
 * against a strict pattern and quoted once, here), the constant list of terminal statuses and the
 * fixed fragments of the list query. Statements that touch several rows take the whole batch as
 * arrays and `unnest` them, so a batch costs one statement, not one per item.
 */
import { TERMINAL_STATUSES } from "../../domain/status.js";
import { quoteIdentifier } from "./options.js";
import { sliceSql } from "./text-blob.js";
import { stateColumnList } from "../state-json.js";

/** `'completed', 'compensated', 'failed'`, from the domain so the two cannot drift apart. */
const TERMINAL = TERMINAL_STATUSES.map((status) => `'${status}'`).join(", ");
/**
 * A `failed` instance with a message it has not applied: an operator's retry (the only message
 * delivered to a failed saga), which a claim hands to a worker to reopen it.
 */
const REOPENED = "(status = 'failed' AND inbox_seq > inbox_applied_seq)";

/** The columns an `InstanceRecord` is built from (see `InstanceRow`), for table alias `i`. */
const INSTANCE_COLUMNS = `${stateColumnList("i")}, i.epoch, i.lease_owner, i.lease_expires_at_ms, i.inbox_seq, i.inbox_applied_seq`;

/** The columns a `StoredDefinition` is built from (see `DefinitionRow`). */
const DEFINITION_COLUMNS = "name, version, hash, document_json, created_at_ms";

/** Which filters a list query uses; each present one adds a fixed fragment and one parameter. */
export interface ListFilters {
  statuses: boolean;
  definitionName: boolean;
  createdFromMs: boolean;
  createdToMs: boolean;
  after: boolean;
}

/** The statements of the store in `schema` (already checked by `checkPostgresOptions`). */
export function createQueries(schema: string) {
  const s = quoteIdentifier(schema);
  const instances = `${s}.saga_instances`;
  const history = `${s}.saga_history`;
  const inbox = `${s}.saga_inbox`;
  const ledger = `${s}.sagaflow_migrations`;
  const definitions = `${s}.saga_definitions`;

  // Every shape, by `shapeKey`.
  const writes = new Map<string, string>();
  for (const single of [false, true]) {
    for (const [creates, commits] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const shape = { creates, commits, single };
      writes.set(shapeKey(shape), writeBatchSql(instances, history, inbox, shape));
    }
  }

  return {
    schemaName: schema,
    schemaIdentifier: s,
    ledgerRegclass: ledger,

    // --- migrations -------------------------------------------------------------------------

    /**
     * Serializes migrations of this schema across every process until the transaction ends. $1: the
     * lock key (bigint as text, see `migrationLockKey`). Prevents the race where two workers that
     * start together both see version 0 and both run migration 1.
     */
    lockMigrations: "SELECT pg_advisory_xact_lock($1::bigint)",

    /** Whether the schema and the ledger exist, without needing CREATE rights. $1: schema name, $2: qualified ledger name. */
    selectSchemaState: `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema_exists,
  to_regclass($2) IS NOT NULL AS ledger_exists`,

    /** Creates the schema on first use. No parameters. */
    createSchema: `CREATE SCHEMA IF NOT EXISTS ${s}`,

    /** Creates the migrations ledger on first use. No parameters. */
    createLedger: `CREATE TABLE IF NOT EXISTS ${ledger} (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at_ms BIGINT NOT NULL
)`,

    /** The schema version (null when no migration ran yet). No parameters. */
    selectSchemaVersion: `SELECT MAX(version) AS version FROM ${ledger}`,

    /** Records one applied migration. $1 version, $2 name, $3 applied at (ms). */
    insertMigration: `INSERT INTO ${ledger} (version, name, applied_at_ms) VALUES ($1, $2, $3)`,

    // --- instances ----------------------------------------------------------------------------


    /** Instances by idempotency key. $1 key[]. */
    selectInstancesByKeys: `SELECT ${INSTANCE_COLUMNS} FROM ${instances} i WHERE i.idempotency_key = ANY($1::text[])`,

    /** One instance by id. $1 saga id. */
    selectInstance: `SELECT ${INSTANCE_COLUMNS} FROM ${instances} i WHERE i.id = $1`,

    /** One instance by idempotency key. $1 key. */
    selectInstanceByKey: `SELECT ${INSTANCE_COLUMNS} FROM ${instances} i WHERE i.idempotency_key = $1`,

    /** Instance count per status. No parameters. */
    countByStatus: `SELECT status, COUNT(*)::int AS count FROM ${instances} GROUP BY status`,

    /** Unfinished instances per definition version. No parameters. */
    countUnfinishedByDefinition: `SELECT definition_name AS "definitionName", definition_version AS "definitionVersion", COUNT(*)::int AS count
  FROM ${instances} WHERE status IN ('running', 'compensating')
  GROUP BY definition_name, definition_version ORDER BY definition_name COLLATE "C", definition_version`,

    /** Starts by creation time and ends by end time, per bucket index from $1; $2 to (exclusive), $3 bucket length. */
    activity: `
SELECT ((created_at_ms - $1::bigint) / $3::bigint)::int AS bucket, 'started' AS kind, COUNT(*)::int AS count
  FROM ${instances} WHERE created_at_ms >= $1::bigint AND created_at_ms < $2::bigint GROUP BY 1
UNION ALL
SELECT ((ended_at_ms - $1::bigint) / $3::bigint)::int AS bucket, status AS kind, COUNT(*)::int AS count
  FROM ${instances} WHERE ended_at_ms >= $1::bigint AND ended_at_ms < $2::bigint GROUP BY 1, 2`,

    /**
     * A page of instances, newest first. Parameters are numbered in this order, each only with
     * its filter: statuses (text[]), definition name, created from (inclusive), created to
     * (exclusive), cursor created-at and cursor id (strictly after it in list order); always the
     * limit, last. Built per filter set so the planner can use the listing indexes.
     */
    buildListQuery(filters: ListFilters): string {
      const where: string[] = [];
      let n = 0;
      if (filters.statuses) where.push(`status = ANY($${++n}::text[])`);
      if (filters.definitionName) where.push(`definition_name = $${++n}`);
      if (filters.createdFromMs) where.push(`created_at_ms >= $${++n}`);
      if (filters.createdToMs) where.push(`created_at_ms < $${++n}`);
      if (filters.after) where.push(`(created_at_ms, id) < ($${++n}, $${++n})`);
      const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
      return `SELECT ${stateColumnList()} FROM ${instances} ${clause} ORDER BY created_at_ms DESC, id DESC LIMIT $${n + 1}`;
    },

    // --- claiming and leases -----------------------------------------------------------------

    /**
     * Leases up to $5 due instances of the definitions $4 (text[] of `name@version`) to $1 until
     * $2, as of $3 (now). FOR UPDATE SKIP LOCKED is what stops two workers from claiming the same
     * instance: a row another claim has locked is skipped rather than waited for, and a row it
     * claimed and committed meanwhile fails the re-checked lease condition. The epoch bump fences
     * out the previous owner. RETURNING order is unspecified: callers sort.
     *
     * The definitions test is wrapped in a CASE only for the planner: as a plain `= ANY` on an
     * expression it has no statistics and is guessed to keep 0.5% of rows, so for any LIMIT above a
     * handful the planner expected to run out of rows and sorted every due instance (10,000 in
     * flight: ~8 ms a claim) instead of walking `saga_instances_due_order` and stopping after
     * LIMIT rows (~0.3 ms for 50). An opaque boolean is guessed at 50%, which picks the index walk;
     * that walk reads no more rows than the sort would, so it is never much worse.
     */
    claimDue: `UPDATE ${instances} AS i
SET epoch = i.epoch + 1, lease_owner = $1, lease_expires_at_ms = $2
FROM (
  SELECT id FROM ${instances}
  WHERE wake_at_ms <= $3
    AND (status NOT IN (${TERMINAL}) OR ${REOPENED})
    AND CASE WHEN definition_name || '@' || definition_version = ANY($4::text[]) THEN true ELSE false END
    AND (lease_owner IS NULL OR lease_expires_at_ms < $3)
  ORDER BY wake_at_ms, id
  LIMIT $5
  FOR UPDATE SKIP LOCKED
) AS due
WHERE i.id = due.id
RETURNING ${INSTANCE_COLUMNS}, i.wake_at_ms`,

    /**
     * The earliest time a claim of the definitions $1 (text[]) could return something: the wake-up
     * of an unleased instance, or for a leased one the first millisecond after its lease expires
     * (claims take only leases that expired strictly before now).
     */
    selectNextWake: `SELECT MIN(CASE WHEN lease_owner IS NULL THEN wake_at_ms
                  ELSE GREATEST(wake_at_ms, lease_expires_at_ms + 1) END) AS next_wake_at_ms
FROM ${instances}
WHERE wake_at_ms IS NOT NULL
  AND (status NOT IN (${TERMINAL}) OR ${REOPENED})
  AND definition_name || '@' || definition_version = ANY($1::text[])`,

    /**
     * Extends to $2 the leases still held by $1 at the given epochs: $3 saga id[], $4 epoch[]; a
     * lease that expired before $5 (now) stays lost, even if nobody took it over (G5).
     * Returns the ids renewed. Rows are locked in id order first, so a renewal and a group commit
     * that share instances cannot deadlock (see `commitTransitions`).
     */
    renewLeases: `WITH locked AS (
  SELECT id FROM ${instances} WHERE id = ANY($3::text[]) ORDER BY id FOR UPDATE
)
UPDATE ${instances} AS i SET lease_expires_at_ms = $2
FROM unnest($3::text[], $4::bigint[]) AS r(id, epoch) JOIN locked l ON l.id = r.id
WHERE i.id = r.id AND i.epoch = r.epoch AND i.lease_owner = $1 AND i.lease_expires_at_ms >= $5
RETURNING i.id, i.epoch`,

    /**
     * Gives back the lease of $3 at epoch $2 on $1; the epoch stays, the next claim bumps it. A
     * waiting instance (wake_at_ms set; terminal ones have none) becomes claimable by anyone, so
     * the release notifies channel $4.
     */
    /**
     * An operator's move of an unleased instance onto another definition version, with its history
     * row, in one statement: only at $2 (epoch) with no live lease at $3 (now); bumps the epoch.
     * $1 saga id, $4 version, $5 state JSON, $6 status, $7 wake-at, $8 updated-at, $9 entries, $10
     * entries JSON. Returns the saga id when moved.
     */
    moveInstance: `WITH moved AS (
  UPDATE ${instances} SET definition_version = $4, state_json = $5, status = $6, wake_at_ms = $7, updated_at_ms = $8,
    epoch = epoch + 1, lease_owner = NULL, lease_expires_at_ms = NULL, history_count = history_count + $9::int
  WHERE id = $1 AND epoch = $2 AND (lease_owner IS NULL OR lease_expires_at_ms < $3)
  RETURNING id, history_count - $9::int AS history_before
)
INSERT INTO ${history} (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
SELECT id, history_before + 1, $9::int, $3, NULL, NULL, $10 FROM moved
RETURNING saga_id`,

    /** What a refused move is checked against. $1 saga id. */
    selectMoveGuard: `SELECT epoch, lease_owner, lease_expires_at_ms FROM ${instances} WHERE id = $1`,

    releaseLease: `UPDATE ${instances} SET lease_owner = NULL, lease_expires_at_ms = NULL
WHERE id = $1 AND epoch = $2 AND lease_owner = $3
RETURNING CASE WHEN wake_at_ms IS NOT NULL THEN pg_notify($4, '') END AS notified`,

    // --- committing transitions -----------------------------------------------------------------

    /**
     * Writes a group commit in one statement, which is atomic and durable on its own: no BEGIN or
     * COMMIT round trips. $1 every JSON text of the batch as one blob (see `TextBlob`); $2 the
     * notification channel.
     *
     * New instances (ids distinct, keys distinct, none named by a commit of the same statement),
     * as arrays with one element each, from $3 (see `CREATE_COLUMNS`): id, definition name,
     * definition version, status, idempotency key, state JSON offset and length in the blob, wake
     * at, lease owner, lease expiry, epoch, history count, created at, updated at, ended at, and
     * the offset and length in the blob of the JSON array of its history entries. ON CONFLICT DO
     * NOTHING (id or key) makes a concurrent create with the same key wait for the first one's
     * commit and then write nothing, which is what keeps two connections from both creating it;
     * the caller tells a taken key from a taken id by reading the key afterwards.
     *
     * Transitions (ids distinct), one element each, numbered on from the creates' (from $3 when
     * the shape has none; see `COMMIT_COLUMNS`): id, epoch, worker id, now, inbox seq (the seq the
     * item applied), state JSON offset and length in the blob, status, wake at, updated at, ended
     * at, lease expiry (null to release), history added, and the offset and length in the blob of
     * the JSON array of its history entries.
     *
     * A shape leaves out the part it has no items for: a smaller statement is quicker to plan.
     *
     * Returns a row per instance created (`created`) or transition written (not `created`).
     *
     * A transition is written only if its instance is still at its epoch, leased to its worker
     * until at least its `now`, and has received no message beyond the ones it applied: the
     * fencing check (G5) and the write are one UPDATE, so nothing can slip in between. `locked`
     * takes the row locks in id order before anything is written: without it, two batches that
     * share instances (a stale worker's and the new owner's) could lock them in opposite orders
     * and deadlock, and the aborted one would fail its good items too. A transition that passes
     * fencing but claims messages its instance never received (or had applied already) is a
     * caller's bug: then nothing of the statement is written (`impossible`, read from the locked
     * rows), so the caller can throw with the batch untouched. History numbers continue from each
     * instance's count, inbox messages a transition applied are deleted, and a write that leaves
     * its instance unleased but waiting notifies (PostgreSQL sends one notification per
     * transaction), as does an unleased, waiting new instance: work for any worker.
     *
     * An item is written only if its instance is still at its epoch, leased to its worker until at
     * least its `now`, and has received no message beyond the ones it applied: the fencing check
     * (G5) and the write are one UPDATE, so nothing can slip in between. `locked` takes the row
     * locks in id order before anything is written: without it, two batches that share instances
     * (a stale worker's and the new owner's) could lock them in opposite orders and deadlock, and
     * the aborted one would fail its good items too. History numbers continue from each
     * instance's count, inbox messages the item applied are deleted, and an item that leaves its
     * instance unleased but waiting notifies (PostgreSQL sends one notification per transaction).
     *
     * An item that keeps its lease and is due by its `now` (a step runs: the engine keeps a lease
     * only then) leaves an earlier stored `wake_at_ms` as it is; the state JSON holds the real one.
     * Both are due, so which instances a claim may take (once the lease runs out) and the next
     * wake-up (the lease's end) are the same; only claims' order among due instances can differ,
     * oldest wake-up first. Leaving it, like `status` while that does not change, means the update
     * changes no indexed column and can be HOT: most commits then touch no index.
     *
     * The UPDATE reads only `c`, never `locked` (which `impossible` already forced to run first):
     * kept as a generic plan, a join of the two became a nested loop over the CTE, quadratic in
     * the batch: 4 of the 6 ms a 128-item batch took. Inbox rows are deleted for every transition
     * that ever applied a message; for one with nothing left to delete that is one index probe.
     */
    writeBatch: (shape: WriteShape): string => writes.get(shapeKey(shape)) as string,

    /** Each `writeBatch` statement's text, with the name it is prepared under on every pooled connection. */
    preparedWrites: new Map<string, string>([...writes].map(([key, sql]) => [sql, `sagaflow_write_${key}`])),

    /**
     * Why items of a group commit were not written: their instances' fencing and inbox columns.
     * $1 saga id[]. Runs right after `writeBatch` refused them (in its transaction when it has one);
     * see `explainRefusals` for why a change in between is harmless.
     */
    selectCommitGuards: `SELECT id, epoch, lease_owner, lease_expires_at_ms, inbox_seq, inbox_applied_seq
FROM ${instances} WHERE id = ANY($1::text[])`,

    /**
     * Records the late writes a group commit fenced, one `write_rejected` entry per instance, with
     * the late writer's worker id and epoch. $1 saga id[] (distinct), $2 worker id[], $3 stale
     * epoch[], $4 at_ms[], $5 JSON array of the one entry[]. The number an entry takes and the
     * count it bumps change together under the row's lock, so it cannot collide with the owner's
     * next commit, which numbers its entries the same way.
     */
    appendRejectedWrites: `WITH e AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) AS e(saga_id, worker_id, epoch, at_ms, entries_json)
), bumped AS (
  UPDATE ${instances} AS i SET history_count = i.history_count + 1 FROM e WHERE i.id = e.saga_id RETURNING i.id, i.history_count
)
INSERT INTO ${history} (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
SELECT b.id, b.history_count, 1, e.at_ms, e.worker_id, e.epoch, e.entries_json FROM bumped b JOIN e ON e.saga_id = b.id`,

    /** An instance's history rows in order (see `toStoredHistory`). $1 saga id. */
    selectHistory: `SELECT seq, worker_id, epoch, entries_json FROM ${history} WHERE saga_id = $1 ORDER BY seq`,

    // --- inbox ----------------------------------------------------------------------------------

    /**
     * Delivers message $3 (JSON) to $1 at $2 (now) and makes the instance due at $2 (sooner if it
     * already was), in one statement; matches nothing for a terminal or unknown instance, except a
     * `failed` one when $5 (an operator's retry, which reopens it). Returns
     * the message's seq. The row lock of the UPDATE orders deliveries to one instance, so seqs
     * never collide, and a commit of that instance either sees the message or waits for it. Notifies
     * $4: the instance is due now for whoever holds or next claims it.
     */
    deliver: `WITH reserved AS (
  UPDATE ${instances} SET inbox_seq = inbox_seq + 1, wake_at_ms = LEAST(COALESCE(wake_at_ms, $2), $2)
  WHERE id = $1 AND (status NOT IN (${TERMINAL}) OR (status = 'failed' AND $5::boolean))
  RETURNING id, inbox_seq
), stored AS (
  INSERT INTO ${inbox} (saga_id, seq, event_json, received_at_ms) SELECT id, inbox_seq, $3, $2 FROM reserved
)
SELECT inbox_seq, pg_notify($4, '') AS notified FROM reserved`,

    /** Why a delivery was refused: the instance's status, if it exists. $1 saga id. */
    selectStatus: `SELECT status FROM ${instances} WHERE id = $1`,

    /**
     * Inbox messages of several instances, each within a range: $1 saga id[], $2 after seq[]
     * (exclusive), $3 up to seq[] (inclusive). Ordered by instance, then seq.
     */
    selectInboxRanges: `SELECT b.saga_id, b.seq, b.event_json, b.received_at_ms
FROM ${inbox} b JOIN unnest($1::text[], $2::int[], $3::int[]) AS r(saga_id, after_seq, upto_seq)
  ON b.saga_id = r.saga_id AND b.seq > r.after_seq AND b.seq <= r.upto_seq
ORDER BY b.saga_id, b.seq`,

    // --- saga definitions -----------------------------------------------------------------------

    /**
     * Saves a definition unless its name@version is taken: $1 name, $2 version, $3 hash, $4
     * document JSON, $5 created at (ms). Returns a row only when it wrote. A concurrent insert of
     * the same key makes this one wait for its transaction's end, then do nothing; so of any number
     * of racing saves exactly one writes. The caller then reads the kept row with
     * `selectDefinition`, in a statement of its own: a read within this statement (a CTE) would
     * use the snapshot taken before the wait, in which the winner's row is not yet visible.
     */
    insertDefinition: `INSERT INTO ${definitions} (${DEFINITION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (name, version) DO NOTHING
RETURNING created_at_ms`,

    /** One definition. $1 name, $2 version. */
    selectDefinition: `SELECT ${DEFINITION_COLUMNS} FROM ${definitions} WHERE name = $1 AND version = $2`,

    /** Every definition, by name (collation "C": code point order, as the other adapters) then version. No parameters. */
    selectDefinitions: `SELECT ${DEFINITION_COLUMNS} FROM ${definitions} ORDER BY name, version`,
  } as const;
}

/** The statements of one schema's store. */
export type PostgresQueries = ReturnType<typeof createQueries>;

/**
 * Which parts a `writeBatch` statement has: new instances, transitions, or both; and whether each
 * part has a single item, passed as plain values rather than arrays. The planner then knows it is
 * one row, so the plan it keeps for the statement is the one it would make for each execution,
 * and a lightly loaded store (a commit at a time) never pays for planning.
 */
export interface WriteShape {
  creates: boolean;
  commits: boolean;
  single: boolean;
}

function shapeKey(shape: WriteShape): string {
  return `${shape.creates ? (shape.commits ? "both" : "creates") : "commits"}${shape.single ? "_one" : ""}`;
}

/** Arrays per new instance in `writeBatch`, in parameter order. */
export const CREATE_COLUMNS = 17;
/** Arrays per transition in `writeBatch`, in parameter order. */
export const COMMIT_COLUMNS = 15;

function writeBatchSql(instances: string, history: string, inbox: string, shape: WriteShape): string {
  const blob = "$1::bytea";
  let next = 3;
  const params = (types: readonly string[]): string[] => types.map((type) => `$${next++}::${type}${shape.single ? "" : "[]"}`);
  // A set of rows from the parameters: one row of plain values, or one row per array element.
  const rows = (values: readonly string[]): string => (shape.single ? `(VALUES (${values.join(", ")}))` : `unnest(${values.join(", ")})`);
  const parts: string[] = [];
  const results: string[] = [];
  if (shape.commits) {
    // Numbered after the creates' arrays when both are present; see below.
    next = shape.creates ? 3 + CREATE_COLUMNS : 3;
    const c = params(["text", "bigint", "text", "bigint", "int", "int", "int", "text", "bigint", "bigint", "bigint", "bigint", "int", "int", "int"]);
    if (c.length !== COMMIT_COLUMNS) throw new Error(`writeBatch names ${c.length} transition columns, commitColumns makes ${COMMIT_COLUMNS}`);
    parts.push(`locked AS (
  SELECT id, epoch, lease_owner, lease_expires_at_ms, inbox_seq, inbox_applied_seq
  FROM ${instances} WHERE ${shape.single ? `id = ${c[0]}` : `id = ANY(${c[0]})`} ORDER BY id FOR UPDATE
), c AS (
  SELECT * FROM ${rows(c)}
    AS c(id, epoch, worker_id, now_ms, inbox_seq, state_offset, state_length, status, wake_at_ms, updated_at_ms, ended_at_ms,
         lease_expires_at_ms, history_added, history_offset, history_length)
), impossible AS (
  SELECT 1 FROM c JOIN locked l ON l.id = c.id
  WHERE l.epoch = c.epoch AND l.lease_owner = c.worker_id AND l.lease_expires_at_ms >= c.now_ms
    AND (c.inbox_seq > l.inbox_seq OR c.inbox_seq < l.inbox_applied_seq)
  LIMIT 1
)`);
  }
  if (shape.creates) {
    next = 3;
    const r = params(["text", "text", "int", "text", "text", "int", "int", "bigint", "text", "bigint", "bigint", "int", "bigint", "bigint", "bigint", "int", "int"]);
    if (r.length !== CREATE_COLUMNS) throw new Error(`writeBatch names ${r.length} new-instance columns, createColumns makes ${CREATE_COLUMNS}`);
    parts.push(`r AS (
  SELECT * FROM ${rows(r)}
    AS r(id, definition_name, definition_version, status, idempotency_key, state_offset, state_length, wake_at_ms,
         lease_owner, lease_expires_at_ms, epoch, history_count, created_at_ms, updated_at_ms, ended_at_ms,
         history_offset, history_length)
), created AS (
  INSERT INTO ${instances} (
    id, definition_name, definition_version, status, idempotency_key, state_json, wake_at_ms,
    lease_owner, lease_expires_at_ms, epoch, history_count, created_at_ms, updated_at_ms, ended_at_ms
  )
  SELECT r.id, r.definition_name, r.definition_version, r.status, r.idempotency_key,
         ${sliceSql(blob, "r.state_offset", "r.state_length")}, r.wake_at_ms, r.lease_owner, r.lease_expires_at_ms,
         r.epoch, r.history_count, r.created_at_ms, r.updated_at_ms, r.ended_at_ms
  FROM r${shape.commits ? "\n  WHERE NOT EXISTS (SELECT 1 FROM impossible)" : ""}
  ON CONFLICT DO NOTHING
  RETURNING id, lease_owner, epoch, wake_at_ms
), created_history AS (
  INSERT INTO ${history} (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
  SELECT n.id, 1, r.history_count, r.created_at_ms, n.lease_owner, CASE WHEN n.lease_owner IS NULL THEN NULL ELSE n.epoch END,
         ${sliceSql(blob, "r.history_offset", "r.history_length")}
  FROM created n JOIN r ON r.id = n.id
  WHERE r.history_count > 0
)`);
    results.push("SELECT id, true AS created, CASE WHEN lease_owner IS NULL AND wake_at_ms IS NOT NULL THEN pg_notify($2, '') END AS notified FROM created");
  }
  if (shape.commits) {
    parts.push(`written AS (
  UPDATE ${instances} AS i
  SET state_json = ${sliceSql(blob, "c.state_offset", "c.state_length")}, status = c.status, updated_at_ms = c.updated_at_ms,
      wake_at_ms = CASE WHEN c.lease_expires_at_ms IS NOT NULL AND i.wake_at_ms <= c.wake_at_ms AND c.wake_at_ms <= c.now_ms
                        THEN i.wake_at_ms ELSE c.wake_at_ms END,
      ended_at_ms = c.ended_at_ms,
      lease_owner = CASE WHEN c.lease_expires_at_ms IS NULL THEN NULL ELSE c.worker_id END,
      lease_expires_at_ms = c.lease_expires_at_ms,
      inbox_applied_seq = c.inbox_seq,
      history_count = i.history_count + c.history_added
  FROM c
  WHERE i.id = c.id AND i.epoch = c.epoch AND i.lease_owner = c.worker_id
    AND i.lease_expires_at_ms >= c.now_ms AND i.inbox_seq = c.inbox_seq
    AND NOT EXISTS (SELECT 1 FROM impossible)
  RETURNING i.id, i.history_count - c.history_added AS history_before, i.inbox_applied_seq,
            c.worker_id, c.epoch, i.lease_owner IS NULL AND i.wake_at_ms IS NOT NULL AS waiting_unleased
), written_history AS (
  INSERT INTO ${history} (saga_id, seq, entry_count, at_ms, worker_id, epoch, entries_json)
  SELECT w.id, w.history_before + 1, c.history_added, c.now_ms, w.worker_id, w.epoch,
         ${sliceSql(blob, "c.history_offset", "c.history_length")}
  FROM written w JOIN c ON c.id = w.id
  WHERE c.history_added > 0
), consumed AS (
  DELETE FROM ${inbox} AS b USING written w
  WHERE w.inbox_applied_seq > 0 AND b.saga_id = w.id AND b.seq <= w.inbox_applied_seq
)`);
    results.push(`SELECT id, ${shape.creates ? "false" : "false AS created"}, CASE WHEN waiting_unleased THEN pg_notify($2, '') END${shape.creates ? "" : " AS notified"} FROM written`);
  }
  return `WITH ${parts.join(", ")}\n${results.join("\nUNION ALL\n")}`;
}

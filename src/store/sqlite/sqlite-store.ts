import { FaultPoint, faultPoint } from "../../fault-points.js";
import { resolve as resolvePath } from "node:path";
import Database from "better-sqlite3";
import type { HistoryEntry, StoredHistoryEntry } from "../../domain/history.js";
import type { SagaState } from "../../domain/state.js";
import { isSagaStatus, isTerminal, type SagaStatus } from "../../domain/status.js";
import { InvalidArgumentError, SagaflowError, StoreUnavailableError } from "../../errors.js";
import { checkDefinitionKey, checkDefinitionToSave, refusedSave } from "../definition-checks.js";
import { compareIds, encodeListCursor } from "../list-cursor.js";
import { rejectedWriteEntry } from "../rejected-write.js";
import { checkActivityQuery, checkClaimRequest, checkCommitInboxSeq, checkCommitStateId, checkListQuery, fillActivity, zeroCounts } from "../request-checks.js";
import { isOperatorRepair } from "../saga-store.js";
import { stateToJson } from "../state-json.js";
import type {
  MoveInstanceRequest,
  MoveOutcome,
  UnfinishedCount,
  ActivityBucket,
  ActivityQuery,
  ClaimedInstance,
  ClaimRequest,
  CommitOutcome,
  CreateInstanceRequest,
  CreateInstanceResult,
  CreateOutcome,
  DeliverOutcome,
  InboxMessage,
  InboxPayload,
  InstanceRecord,
  LeaseRef,
  ListPage,
  ListQuery,
  SagaStore,
  SaveDefinitionOutcome,
  StoredDefinition,
  TransitionCommit,
  WriteBatch,
  WriteBatchResult,
} from "../saga-store.js";
import { BackgroundCheckpointer, DEFAULT_CHECKPOINT_PAGES, WRITER_CHECKPOINT_PAGES, type CheckpointStats } from "./background-checkpoint.js";
import { migrate } from "./migrations.js";
import { isInMemory, openDatabase, writerThreadMinBatch, type SqliteStoreOptions } from "./open-database.js";
import * as q from "./queries.js";
import {
  parseStoredState,
  toInboxMessage,
  toInstanceRecord,
  toStoredDefinition,
  toStoredHistory,
  type ClaimedRow,
  type CommitGuardRow,
  type DefinitionRow,
  type HistoryRow,
  type InboxRow,
  type InstanceRow,
  type StateRow,
  type ActivityRow,
  type StatusCountRow,
} from "../stored-rows.js";
import { StatementRunner } from "./statement-runner.js";
import {
  COMMIT_KEYS,
  commitParams,
  HISTORY_ROWS_PER_STATEMENT,
  INSTANCE_INSERT_KEYS,
  insertHistoryRows,
  instanceInsertParams,
  keepsSchedule,
  pushHistoryRow,
  pushHistoryTail,
  pushValues,
  type InstanceInsertParams,
} from "./write-params.js";
import { WriterThread } from "./writer-thread.js";

/**
 * The smallest group commit the writer thread takes by default: a smaller one is written on the
 * event loop, where it costs no trip to the thread and back (about 80 µs here), which would add to
 * every step's latency at low load.
 */
export const WRITER_THREAD_MIN_BATCH = 16;
/** The largest group commit the committer forms for a store with a writer thread (see `maxBatchSize`). */
export const WRITER_THREAD_MAX_BATCH = 256;

/** Counters for the benchmark: write transactions committed and SQL statements executed. */
export interface SqliteStoreStats {
  readonly commits: number;
  readonly statements: number;
}

/** What the writer thread (`writerThread` option) has done so far. */
export interface WriterThreadStats {
  /** Group commits it wrote. */
  readonly batches: number;
  /** Group commits it rolled back for the event loop's connection to write (an item was refused or conflicted). */
  readonly fallbacks: number;
  /** Whether it still takes batches; false once the store closed, or if it failed (batches are written on the event loop again). */
  readonly running: boolean;
  /** Why it stopped, if it failed. */
  readonly failure: string | null;
}

/** The live connection settings, as SQLite reports them. */
export interface SqlitePragmas {
  journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
  foreignKeys: boolean;
  busyTimeoutMs: number;
  /** WAL pages past which the writer checkpoints in its own commit (higher while a background thread checkpoints). */
  walAutocheckpoint: number;
}

/**
 * The embedded `SagaStore`: one better-sqlite3 connection in WAL mode. Every write is one
 * IMMEDIATE transaction, so writers on other connections or processes queue on the file lock
 * (up to `busyTimeoutMs`) instead of interleaving. Create it with `openSqliteStore`, or construct
 * it and call `init()`.
 */
export class SqliteStore implements SagaStore {
  /** The database file this store writes. */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #sql: StatementRunner;
  readonly #transaction: Database.Transaction<(work: () => unknown) => unknown>;
  #commits = 0;
  #closed = false;
  /** History rows of the running transaction, flattened (`q.HISTORY_COLUMNS` values per row). */
  readonly #pendingHistory: unknown[] = [];
  readonly #synchronous: "FULL" | "NORMAL";
  readonly #busyTimeoutMs: number;
  /** Whether WAL checkpoints go to a thread of their own, started at the first write (none for an in-memory database). */
  readonly #checkpointInBackground: boolean;
  /** The file as an absolute path, resolved at opening, so the thread opens this file even if the working directory changes. */
  readonly #absolutePath: string;
  #checkpointer: BackgroundCheckpointer | null = null;
  /** The smallest group commit the writer thread takes; null without one. */
  readonly #writerThreadMinBatch: number | null;
  /** Started at the first group commit it takes (the file exists and is migrated by then). */
  #writer: WriterThread | null = null;
  /** Statements the writer thread executed. */
  #threadStatements = 0;
  #threadBatches = 0;
  #threadFallbacks = 0;
  /**
   * Two group commits at a time with the writer thread: the event loop runs the sagas of one
   * while the thread writes the other (it writes them one after the other).
   */
  readonly concurrentWrites: number | undefined;
  /**
   * With the writer thread, group commits of at most `WRITER_THREAD_MAX_BATCH` items: measured
   * with 10,000 sagas started at once, batches of 500 and more made the process's memory jump by
   * 10–25 MiB, 256 did not, and at 512 sagas in flight (two batches of 256) the rate is the same.
   */
  readonly maxBatchSize: number | undefined;

  /** Opens the file and applies the connection settings; throws `StoreUnavailableError` for a file that is not a usable database. */
  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.#db = openDatabase(options);
    this.#synchronous = options.synchronous ?? "FULL";
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#checkpointInBackground = options.backgroundCheckpoint !== false && !isInMemory(options.path);
    this.#absolutePath = resolvePath(options.path);
    this.#writerThreadMinBatch = writerThreadMinBatch(options, WRITER_THREAD_MIN_BATCH);
    this.concurrentWrites = this.#writerThreadMinBatch === null ? undefined : 2;
    this.maxBatchSize = this.#writerThreadMinBatch === null ? undefined : WRITER_THREAD_MAX_BATCH;
    this.#sql = new StatementRunner(this.#db);
    this.#transaction = this.#db.transaction((work: () => unknown) => work());
  }

  /** Transactions committed and statements executed since the store was opened. */
  get stats(): SqliteStoreStats {
    return { commits: this.#commits, statements: this.#sql.executed + this.#threadStatements };
  }

  /** Reads back journal mode, synchronous level, foreign keys and busy timeout from the connection. */
  pragmas(): SqlitePragmas {
    this.#assertOpen();
    const read = (name: string): unknown => this.#db.pragma(name, { simple: true });
    return {
      journalMode: String(read("journal_mode")),
      synchronous: Number(read("synchronous")),
      foreignKeys: Number(read("foreign_keys")) === 1,
      busyTimeoutMs: Number(read("busy_timeout")),
      walAutocheckpoint: Number(read("wal_autocheckpoint")),
    };
  }

  init(): Promise<void> {
    return this.#call(() => {
      migrate(this.#db, Date.now());
    });
  }

  createInstance(request: CreateInstanceRequest): Promise<CreateInstanceResult> {
    return this.#call(() => {
      const outcome = this.#write(() => this.#create(request));
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  writeBatch(batch: WriteBatch): Promise<WriteBatchResult> {
    const minBatch = this.#writerThreadMinBatch;
    if (minBatch !== null && batch.creates.length + batch.commits.length >= minBatch) return this.#writeBatchInThread(batch);
    return this.#writeBatchHere(batch);
  }

  #writeBatchHere(batch: WriteBatch): Promise<WriteBatchResult> {
    return this.#call((): WriteBatchResult => {
      for (const commit of batch.commits) checkCommitStateId(commit.sagaId, commit.state.id);
      if (batch.creates.length === 0 && batch.commits.length === 0) return { creates: [], commits: [] };
      return this.#write(() => ({
        creates: batch.creates.map((request) => this.#create(request)),
        commits: batch.commits.map((commit) => this.#commitOne(commit)),
      }));
    });
  }

  /**
   * A group commit through the writer thread; written here instead when the thread wrote nothing
   * of it (an item was refused or conflicted: this connection's code says how) or is gone.
   */
  async #writeBatchInThread(batch: WriteBatch): Promise<WriteBatchResult> {
    this.#assertOpen();
    for (const commit of batch.commits) checkCommitStateId(commit.sagaId, commit.state.id);
    const writer = this.#writer ?? this.#startWriter();
    if (!writer.running) return this.#writeBatchHere(batch);
    const values: unknown[] = [];
    const created: InstanceInsertParams[] = [];
    for (const request of batch.creates) {
      const params = instanceInsertParams(request);
      created.push(params);
      pushValues(values, params, INSTANCE_INSERT_KEYS);
      pushHistoryTail(values, request.history, params.leaseOwner, request.lease === undefined ? null : params.epoch);
    }
    for (const commit of batch.commits) {
      pushValues(values, commitParams(commit), COMMIT_KEYS);
      values.push(keepsSchedule(commit));
      pushHistoryTail(values, commit.history, commit.workerId, commit.epoch);
    }
    let outcome;
    try {
      outcome = await writer.write({ creates: batch.creates.length, commits: batch.commits.length, values });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`the SQLite store at ${this.path} failed in its writer thread (${reason}); the batch may or may not have committed`, { cause: error });
    }
    if (!outcome.committed) {
      this.#threadFallbacks++;
      return this.#writeBatchHere(batch);
    }
    this.#threadBatches++;
    this.#commits++;
    this.#threadStatements += outcome.statements;
    this.#wrote();
    faultPoint(FaultPoint.WriteAfterCommit);
    return {
      creates: created.map((params, index): CreateOutcome => ({ ok: true, result: { created: true, record: createdRecord((batch.creates[index] as CreateInstanceRequest).state, params) } })),
      commits: batch.commits.map((): CommitOutcome => ({ ok: true })),
    };
  }

  getInstance(sagaId: string): Promise<InstanceRecord | null> {
    return this.#call(() => {
      const row = this.#sql.get<InstanceRow>(q.SELECT_INSTANCE, [sagaId]);
      return row === undefined ? null : toInstanceRecord(row);
    });
  }

  findByIdempotencyKey(key: string): Promise<InstanceRecord | null> {
    return this.#call(() => {
      const row = this.#sql.get<InstanceRow>(q.SELECT_INSTANCE_BY_KEY, [key]);
      return row === undefined ? null : toInstanceRecord(row);
    });
  }

  getHistory(sagaId: string): Promise<StoredHistoryEntry[]> {
    return this.#call(() => toStoredHistory(sagaId, this.#sql.all<HistoryRow>(q.SELECT_HISTORY, [sagaId])));
  }

  listInstances(query: ListQuery): Promise<ListPage> {
    return this.#call(() => {
      const checked = checkListQuery(query);
      const params: Record<string, unknown> = { limit: checked.limit + 1 };
      if (checked.statuses !== null) params.statuses = JSON.stringify(checked.statuses);
      if (checked.definitionName !== null) params.definitionName = checked.definitionName;
      if (checked.createdFromMs !== null) params.createdFromMs = checked.createdFromMs;
      if (checked.createdToMs !== null) params.createdToMs = checked.createdToMs;
      if (checked.after !== null) {
        params.afterCreatedAtMs = checked.after.createdAtMs;
        params.afterId = checked.after.id;
      }
      const sql = q.buildListQuery({
        statuses: checked.statuses !== null,
        definitionName: checked.definitionName !== null,
        createdFromMs: checked.createdFromMs !== null,
        createdToMs: checked.createdToMs !== null,
        after: checked.after !== null,
      });
      const rows = this.#sql.all<StateRow>(sql, params);
      const items = rows.slice(0, checked.limit).map((row) => parseStoredState(row));
      const last = items[items.length - 1];
      const nextCursor = rows.length > checked.limit && last !== undefined ? encodeListCursor({ createdAtMs: last.createdAtMs, id: last.id }) : null;
      return { items, nextCursor };
    });
  }

  countByStatus(): Promise<Record<SagaStatus, number>> {
    return this.#call(() => {
      const counts = zeroCounts();
      for (const row of this.#sql.all<StatusCountRow>(q.COUNT_BY_STATUS, [])) {
        if (isSagaStatus(row.status)) counts[row.status] = row.count;
      }
      return counts;
    });
  }

  countUnfinishedByDefinition(): Promise<UnfinishedCount[]> {
    return this.#call(() => this.#sql.all<UnfinishedCount>(q.COUNT_UNFINISHED_BY_DEFINITION, []));
  }

  activity(query: ActivityQuery): Promise<ActivityBucket[]> {
    return this.#call(() => {
      const { buckets } = checkActivityQuery(query);
      const { fromMs, toMs, bucketMs } = query;
      return fillActivity(buckets, this.#sql.all<ActivityRow>(q.ACTIVITY, { fromMs, toMs, bucketMs }));
    });
  }

  claimDue(request: ClaimRequest): Promise<ClaimedInstance[]> {
    return this.#call(() => {
      checkClaimRequest(request);
      if (request.limit === 0 || request.definitions.length === 0) return [];
      return this.#write(() => {
        const rows = this.#sql.all<ClaimedRow>(q.CLAIM_DUE, {
          workerId: request.workerId,
          leaseExpiresAtMs: request.nowMs + request.leaseMs,
          nowMs: request.nowMs,
          definitions: JSON.stringify(request.definitions),
          limit: request.limit,
        });
        rows.sort((a, b) => a.wake_at_ms - b.wake_at_ms || compareIds(a.id, b.id));
        return rows.map((row) => ({
          record: toInstanceRecord(row),
          inbox: row.inbox_seq > row.inbox_applied_seq ? this.#inboxAfter(row.id, row.inbox_applied_seq) : [],
        }));
      });
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  commitTransitions(commits: readonly TransitionCommit[]): Promise<CommitOutcome[]> {
    if (this.#writerThreadMinBatch !== null) return this.writeBatch({ creates: [], commits }).then((result) => result.commits);
    return this.#call(() => {
      for (const commit of commits) checkCommitStateId(commit.sagaId, commit.state.id);
      if (commits.length === 0) return [];
      return this.#write(() => commits.map((commit) => this.#commitOne(commit)));
    });
  }

  renewLeases(workerId: string, leases: readonly LeaseRef[], expiresAtMs: number, nowMs: number): Promise<boolean[]> {
    return this.#call(() => {
      if (leases.length === 0) return [];
      return this.#write(() =>
        leases.map((lease) => this.#sql.run(q.RENEW_LEASE, { workerId, expiresAtMs, nowMs, sagaId: lease.sagaId, epoch: lease.epoch }).changes === 1),
      );
    });
  }

  moveInstance(request: MoveInstanceRequest): Promise<MoveOutcome> {
    return this.#call(() =>
      this.#write((): MoveOutcome => {
        checkCommitStateId(request.sagaId, request.state.id);
        const { state } = request;
        const moved = this.#sql.get<{ history_before: number }>(q.MOVE_INSTANCE, {
          sagaId: request.sagaId,
          epoch: request.epoch,
          nowMs: request.nowMs,
          definitionVersion: state.definitionVersion,
          stateJson: stateToJson(state),
          status: state.status,
          wakeAtMs: isTerminal(state.status) ? null : state.wakeAtMs,
          updatedAtMs: state.updatedAtMs,
          historyAdded: request.history.length,
        });
        if (moved !== undefined) {
          this.#appendHistory(request.sagaId, moved.history_before, request.history, null, null);
          return { moved: true };
        }
        const guard = this.#sql.get<{ epoch: number; lease_owner: string | null; lease_expires_at_ms: number | null }>(q.SELECT_MOVE_GUARD, [request.sagaId]);
        if (guard === undefined) return { moved: false, reason: "not_found" };
        if (guard.lease_owner !== null && guard.lease_expires_at_ms !== null && guard.lease_expires_at_ms >= request.nowMs) return { moved: false, reason: "leased" };
        return { moved: false, reason: "changed" };
      }),
    );
  }

  releaseLease(workerId: string, lease: LeaseRef): Promise<boolean> {
    return this.#call(() =>
      this.#write(() => this.#sql.run(q.RELEASE_LEASE, { workerId, sagaId: lease.sagaId, epoch: lease.epoch }).changes === 1),
    );
  }

  deliver(sagaId: string, message: InboxPayload, nowMs: number): Promise<DeliverOutcome> {
    return this.#call(() =>
      this.#write((): DeliverOutcome => {
        const reserved = this.#sql.get<{ inbox_seq: number }>(q.RESERVE_INBOX_SEQ, { sagaId, nowMs, reopens: isOperatorRepair(message) ? 1 : 0 });
        if (reserved === undefined) {
          const row = this.#sql.get<{ status: string }>(q.SELECT_STATUS, [sagaId]);
          if (row === undefined || !isSagaStatus(row.status)) return { accepted: false, reason: "not_found" };
          return { accepted: false, reason: "terminal", status: row.status };
        }
        const seq = reserved.inbox_seq;
        this.#sql.run(q.INSERT_INBOX, { sagaId, seq, eventJson: JSON.stringify(message), receivedAtMs: nowMs });
        return { accepted: true, seq };
      }),
    );
  }

  /** The earliest time a claim could take something: an unleased instance's wake-up, or the first millisecond after a lease expires. */
  nextWakeAtMs(definitions: readonly string[]): Promise<number | null> {
    return this.#call(() => {
      if (definitions.length === 0) return null;
      const row = this.#sql.get<{ next_wake_at_ms: number | null }>(q.SELECT_NEXT_WAKE, { definitions: JSON.stringify(definitions) });
      return row?.next_wake_at_ms ?? null;
    });
  }

  saveDefinition(definition: Omit<StoredDefinition, "createdAtMs">, nowMs: number): Promise<SaveDefinitionOutcome> {
    return this.#call(() => {
      const checked = checkDefinitionToSave(definition, nowMs);
      const { name, version } = checked;
      return this.#write((): SaveDefinitionOutcome => {
        const row: DefinitionRow = { name, version, hash: checked.hash, document_json: checked.documentJson, created_at_ms: checked.createdAtMs };
        const inserted = this.#sql.run(q.INSERT_DEFINITION, { name, version, hash: row.hash, documentJson: row.document_json, createdAtMs: row.created_at_ms });
        if (inserted.changes === 1) return { saved: true, definition: toStoredDefinition(row) };
        const kept = this.#sql.get<DefinitionRow>(q.SELECT_DEFINITION, [name, version]);
        if (kept === undefined) throw new StoreUnavailableError(`the SQLite store at ${this.path} refused to save ${name}@${version} without a definition in the way`);
        return refusedSave(toStoredDefinition(kept), checked.hash);
      });
    });
  }

  listDefinitions(): Promise<StoredDefinition[]> {
    return this.#call(() => this.#sql.all<DefinitionRow>(q.SELECT_DEFINITIONS, []).map((row) => toStoredDefinition(row)));
  }

  getDefinition(name: string, version: number): Promise<StoredDefinition | null> {
    return this.#call(() => {
      checkDefinitionKey(name, version);
      const row = this.#sql.get<DefinitionRow>(q.SELECT_DEFINITION, [name, version]);
      return row === undefined ? null : toStoredDefinition(row);
    });
  }

  /** Closes the connection (checkpointing the WAL); later calls reject with `StoreUnavailableError`. Safe to call twice. */
  /** What the background checkpoint thread has done; null while none was started (no write yet, or turned off). */
  /** What the writer thread has done (null until it took its first batch, or without one). */
  get writerThread(): WriterThreadStats | null {
    const writer = this.#writer;
    if (writer === null) return null;
    return { batches: this.#threadBatches, fallbacks: this.#threadFallbacks, running: writer.running, failure: writer.failure };
  }

  get backgroundCheckpoints(): CheckpointStats | null {
    return this.#checkpointer?.stats ?? null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The threads' connections go first, so closing the last one checkpoints and removes the WAL;
    // the writer answers the batches it was given before it stops.
    await this.#writer?.close();
    await this.#checkpointer?.close();
    this.#db.close();
  }

  /** One create inside the caller's transaction. An id in use fails this create alone: SQLite undoes just the refused statement. */
  #create(request: CreateInstanceRequest): CreateOutcome {
    const { state, lease } = request;
    const params = instanceInsertParams(request);
    let inserted: Database.RunResult;
    try {
      inserted = this.#sql.run(q.INSERT_INSTANCE, params);
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        return {
          ok: false,
          error: new InvalidArgumentError("state.id", `${JSON.stringify(state.id)} already names another instance; ids must be unique`),
        };
      }
      throw error;
    }
    if (inserted.changes === 0) {
      const existing = this.#sql.get<InstanceRow>(q.SELECT_INSTANCE_BY_KEY, [state.idempotencyKey]);
      if (existing === undefined) throw new StoreUnavailableError(`the SQLite store at ${this.path} refused an insert without a conflicting row`);
      return { ok: true, result: { created: false, record: toInstanceRecord(existing) } };
    }
    this.#appendHistory(state.id, 0, request.history, params.leaseOwner, lease === undefined ? null : params.epoch);
    return { ok: true, result: { created: true, record: createdRecord(state, params) } };
  }

  /** One item of a group commit. Refusals return instead of throwing, so they leave the rest of the batch alone. */
  #commitOne(commit: TransitionCommit): CommitOutcome {
    const params = commitParams(commit);
    // A step's outcome and the next step's start first tries the update that touches no index.
    const keepsRunning = keepsSchedule(commit);
    const written =
      (keepsRunning ? this.#sql.get<{ history_count: number }>(q.UPDATE_COMMITTED_KEEPING_SCHEDULE, params) : undefined) ??
      this.#sql.get<{ history_count: number }>(q.UPDATE_COMMITTED, params);
    if (written !== undefined) {
      this.#appendHistory(commit.sagaId, written.history_count - commit.history.length, commit.history, commit.workerId, commit.epoch);
      // Applied messages are deleted; a commit that applied none (the usual case) skips the statement.
      if (commit.inboxSeq > 0) this.#sql.run(q.DELETE_APPLIED_INBOX, { sagaId: commit.sagaId, inboxSeq: commit.inboxSeq });
      return { ok: true };
    }
    return this.#refusal(commit);
  }

  /** Why `UPDATE_COMMITTED` wrote nothing, checked in the same order as the other adapters: fencing, the caller's inbox claim (a bug throws), missed messages. */
  #refusal(commit: TransitionCommit): CommitOutcome {
    const guard = this.#sql.get<CommitGuardRow>(q.SELECT_COMMIT_GUARD, [commit.sagaId]);
    if (
      guard === undefined ||
      guard.epoch !== commit.epoch ||
      guard.lease_owner !== commit.workerId ||
      guard.lease_expires_at_ms === null ||
      guard.lease_expires_at_ms < commit.nowMs
    ) {
      if (guard !== undefined) {
        this.#sql.run(q.ADD_HISTORY_COUNT, { sagaId: commit.sagaId, added: 1 });
        this.#appendHistory(commit.sagaId, guard.history_count, [rejectedWriteEntry(commit, guard.epoch)], commit.workerId, commit.epoch);
      }
      return { ok: false, reason: "fenced" };
    }
    checkCommitInboxSeq(commit.sagaId, commit.inboxSeq, guard.inbox_seq, guard.inbox_applied_seq);
    return { ok: false, reason: "inbox_changed", inbox: this.#inboxAfter(commit.sagaId, commit.inboxSeq) };
  }

  /** Queues the entries as one history row; `#write` inserts every queued row, many per statement, before its transaction commits. */
  #appendHistory(sagaId: string, existing: number, entries: readonly HistoryEntry[], workerId: string | null, epoch: number | null): void {
    pushHistoryRow(this.#pendingHistory, sagaId, existing + 1, entries, workerId, epoch);
  }

  #inboxAfter(sagaId: string, afterSeq: number): InboxMessage[] {
    return this.#sql.all<InboxRow>(q.SELECT_INBOX_AFTER, { sagaId, afterSeq }).map((row) => toInboxMessage(sagaId, row));
  }

  /** Runs `work` in one IMMEDIATE transaction: the write lock is taken before anything is read. */
  #write<T>(work: () => T): T {
    try {
      const result = this.#transaction.immediate(() => {
        const value = work();
        insertHistoryRows(this.#sql, this.#pendingHistory);
        faultPoint(FaultPoint.WriteBeforeCommit);
        return value;
      }) as T;
      this.#commits++;
      this.#wrote();
      faultPoint(FaultPoint.WriteAfterCommit);
      return result;
    } finally {
      this.#pendingHistory.length = 0;
    }
  }

  /**
   * Hands checkpoints to a thread, keeping the writer's own automatic checkpoint as a safety net
   * at a higher mark (see `WRITER_CHECKPOINT_PAGES`). If the thread fails, the writer goes back to
   * SQLite's default and carries on: checkpoints only move pages the WAL already holds durably.
   */
  /** A write transaction committed (here or in the writer thread): the background checkpointer looks at the WAL. */
  #wrote(): void {
    if (this.#checkpointInBackground) (this.#checkpointer ?? this.#startCheckpointer()).wrote();
  }

  #startWriter(): WriterThread {
    const pragmas = q.connectionPragmas({ busyTimeoutMs: this.#busyTimeoutMs, synchronous: this.#synchronous });
    this.#writer = new WriterThread(this.#absolutePath, {
      instanceInsertKeys: INSTANCE_INSERT_KEYS,
      commitKeys: COMMIT_KEYS,
      insertInstance: q.INSERT_INSTANCE,
      updateCommitted: q.UPDATE_COMMITTED,
      updateCommittedKeepingSchedule: q.UPDATE_COMMITTED_KEEPING_SCHEDULE,
      deleteAppliedInbox: q.DELETE_APPLIED_INBOX,
      historyInsertPrefix: q.HISTORY_INSERT_PREFIX,
      historyRowPlaceholders: q.HISTORY_ROW_PLACEHOLDERS,
      historyRowsPerStatement: HISTORY_ROWS_PER_STATEMENT,
      historyColumns: q.HISTORY_COLUMNS,
      // Its commits leave checkpoints to the background thread as the event loop's do: SQLite's
      // automatic checkpoint (and, with FULL, its flush of the database file) would otherwise run
      // inside the thread's commits every 1,000 WAL pages.
      pragmas: [pragmas.busyTimeout, ...pragmas.settings, `PRAGMA wal_autocheckpoint = ${this.#checkpointInBackground ? WRITER_CHECKPOINT_PAGES : DEFAULT_CHECKPOINT_PAGES}`],
    });
    return this.#writer;
  }

  #startCheckpointer(): BackgroundCheckpointer {
    this.#db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    this.#checkpointer = new BackgroundCheckpointer(this.#absolutePath, this.#synchronous, () => {
      if (!this.#closed) this.#db.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`);
    });
    return this.#checkpointer;
  }

  /** Turns the synchronous driver into the contract's promises; driver failures become `StoreUnavailableError`. */
  #call<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      this.#assertOpen();
      try {
        resolve(work());
      } catch (error) {
        if (error instanceof SagaflowError || !(error instanceof Database.SqliteError)) throw error;
        throw new StoreUnavailableError(`the SQLite store at ${this.path} failed: ${error.code}: ${error.message}`, { cause: error });
      }
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError(`the SQLite store at ${this.path} was closed; open it again`);
  }
}

/** The record of an instance just created: the caller's state object (callers never mutate a state they wrote, see the contract). */
function createdRecord(state: SagaState, params: InstanceInsertParams): InstanceRecord {
  return { state, epoch: params.epoch, leaseOwner: params.leaseOwner, leaseExpiresAtMs: params.leaseExpiresAtMs, inboxSeq: 0, inboxAppliedSeq: 0 };
}

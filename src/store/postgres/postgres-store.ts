import type { StoredHistoryEntry } from "../../domain/history.js";
import { isSagaStatus, isTerminal, type SagaStatus } from "../../domain/status.js";
import { StoreUnavailableError } from "../../errors.js";
import { checkDefinitionKey, checkDefinitionToSave, refusedSave } from "../definition-checks.js";
import { compareIds, encodeListCursor } from "../list-cursor.js";
import { checkActivityQuery, checkClaimRequest, checkCommitStateId, checkListQuery, fillActivity, zeroCounts } from "../request-checks.js";
import { isOperatorRepair } from "../saga-store.js";
import { historyToJson } from "../history-json.js";
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
import {
  parseStoredState,
  toInstanceRecord,
  toStoredDefinition,
  toStoredHistory,
  type ClaimedRow,
  type DefinitionRow,
  type HistoryRow,
  type InstanceRow,
  type StateRow,
  type ActivityRow,
  type StatusCountRow,
} from "../stored-rows.js";
import { groupInbox, type RangedInboxRow } from "./commit-batch.js";
import { PostgresConnection, type PostgresStoreStats, type Query } from "./connection.js";
import { migrate } from "./migrations.js";
import { NotificationListener } from "./notification-listener.js";
import { channelFor, checkPostgresOptions, migrationLockKey, type PostgresStoreOptions } from "./options.js";
import { createQueries, type PostgresQueries } from "./queries.js";
import { fitsOneStatement, writeBatchStatements } from "./write-batch.js";

/**
 * A `SagaStore` in a PostgreSQL schema, shared by any number of worker processes: claims use
 * `FOR UPDATE SKIP LOCKED`, every write is fenced by the claim's epoch, a group commit is one
 * transaction of a constant number of statements, and LISTEN/NOTIFY wakes idle workers. Create
 * it with `openPostgresStore`, or construct it (no connection is made yet) and call `init()`.
 */
export class PostgresStore implements SagaStore {
  /** The schema holding this store's tables. */
  readonly schema: string;
  /** The LISTEN/NOTIFY channel of this schema. */
  readonly channel: string;
  /**
   * Group commits that may run at once, each on its own pooled connection: while one waits for
   * its fsync the next is already being written. Leaves connections for claims and reads.
   */
  readonly concurrentWrites: number;
  readonly #db: PostgresConnection;
  readonly #q: PostgresQueries;
  readonly #listeners = new Set<NotificationListener>();
  /** Executions of each prepared group-commit statement, by its base name (see `#preparedName`). */
  readonly #executions = new Map<string, number>();
  #closing: Promise<void> | undefined;

  /** Checks the options (throwing `InvalidArgumentError` naming the bad one) and sets up the pool. */
  constructor(options: PostgresStoreOptions) {
    const checked = checkPostgresOptions(options);
    this.schema = checked.schema;
    this.channel = channelFor(checked.schema);
    this.#db = new PostgresConnection(checked);
    this.concurrentWrites = Math.max(1, Math.min(4, checked.poolSize - 2));
    this.#q = createQueries(checked.schema);
  }

  /** Transactions committed, statements sent and idle connections lost since the store was opened. */
  get stats(): PostgresStoreStats {
    return this.#db.stats;
  }

  /** Creates the schema if needed and applies pending migrations, serialized across processes. */
  init(): Promise<void> {
    return this.#call(async () => {
      await this.#db.transaction((query) => migrate(query, this.#q, migrationLockKey(this.schema), Date.now()));
    });
  }

  createInstance(request: CreateInstanceRequest): Promise<CreateInstanceResult> {
    return this.#call(async () => {
      const { creates: [outcome] } = await this.#write({ creates: [request], commits: [] });
      if (outcome === undefined) throw new StoreUnavailableError(`${this.#db.label} returned no outcome for a create`);
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  writeBatch(batch: WriteBatch): Promise<WriteBatchResult> {
    return this.#call(async () => {
      for (const commit of batch.commits) checkCommitStateId(commit.sagaId, commit.state.id);
      if (batch.creates.length === 0 && batch.commits.length === 0) return { creates: [], commits: [] };
      return this.#write(batch);
    });
  }

  getInstance(sagaId: string): Promise<InstanceRecord | null> {
    return this.#call(async () => {
      const [row] = await this.#db.query<InstanceRow>(this.#q.selectInstance, [sagaId]);
      return row === undefined ? null : toInstanceRecord(row);
    });
  }

  findByIdempotencyKey(key: string): Promise<InstanceRecord | null> {
    return this.#call(async () => {
      const [row] = await this.#db.query<InstanceRow>(this.#q.selectInstanceByKey, [key]);
      return row === undefined ? null : toInstanceRecord(row);
    });
  }

  getHistory(sagaId: string): Promise<StoredHistoryEntry[]> {
    return this.#call(async () => {
      return toStoredHistory(sagaId, await this.#db.query<HistoryRow>(this.#q.selectHistory, [sagaId]));
    });
  }

  listInstances(query: ListQuery): Promise<ListPage> {
    return this.#call(async () => {
      const checked = checkListQuery(query);
      const params: unknown[] = [];
      if (checked.statuses !== null) params.push(checked.statuses);
      if (checked.definitionName !== null) params.push(checked.definitionName);
      if (checked.createdFromMs !== null) params.push(checked.createdFromMs);
      if (checked.createdToMs !== null) params.push(checked.createdToMs);
      if (checked.after !== null) params.push(checked.after.createdAtMs, checked.after.id);
      params.push(checked.limit + 1);
      const sql = this.#q.buildListQuery({
        statuses: checked.statuses !== null,
        definitionName: checked.definitionName !== null,
        createdFromMs: checked.createdFromMs !== null,
        createdToMs: checked.createdToMs !== null,
        after: checked.after !== null,
      });
      const rows = await this.#db.query<StateRow>(sql, params);
      const items = rows.slice(0, checked.limit).map((row) => parseStoredState(row));
      const last = items[items.length - 1];
      const nextCursor = rows.length > checked.limit && last !== undefined ? encodeListCursor({ createdAtMs: last.createdAtMs, id: last.id }) : null;
      return { items, nextCursor };
    });
  }

  countByStatus(): Promise<Record<SagaStatus, number>> {
    return this.#call(async () => {
      const counts = zeroCounts();
      for (const row of await this.#db.query<StatusCountRow>(this.#q.countByStatus)) {
        if (isSagaStatus(row.status)) counts[row.status] = row.count;
      }
      return counts;
    });
  }

  countUnfinishedByDefinition(): Promise<UnfinishedCount[]> {
    return this.#call(() => this.#db.query<UnfinishedCount>(this.#q.countUnfinishedByDefinition));
  }

  activity(query: ActivityQuery): Promise<ActivityBucket[]> {
    return this.#call(async () => {
      const { buckets } = checkActivityQuery(query);
      return fillActivity(buckets, await this.#db.query<ActivityRow>(this.#q.activity, [query.fromMs, query.toMs, query.bucketMs]));
    });
  }

  claimDue(request: ClaimRequest): Promise<ClaimedInstance[]> {
    return this.#call(async () => {
      checkClaimRequest(request);
      if (request.limit === 0 || request.definitions.length === 0) return [];
      const rows = await this.#db.write<ClaimedRow>(this.#q.claimDue, [
        request.workerId,
        request.nowMs + request.leaseMs,
        request.nowMs,
        [...request.definitions],
        request.limit,
      ]);
      rows.sort((a, b) => a.wake_at_ms - b.wake_at_ms || compareIds(a.id, b.id));
      // Messages up to the claimed `inbox_seq` only, so the inbox matches the record even if
      // another arrives meanwhile. None can be deleted meanwhile: only a commit by the lease
      // holder, this caller, deletes them.
      const pending = rows.filter((row) => row.inbox_seq > row.inbox_applied_seq);
      const inboxes =
        pending.length === 0
          ? new Map<string, InboxMessage[]>()
          : groupInbox(
              await this.#db.query<RangedInboxRow>(this.#q.selectInboxRanges, [
                pending.map((row) => row.id),
                pending.map((row) => row.inbox_applied_seq),
                pending.map((row) => row.inbox_seq),
              ]),
            );
      return rows.map((row) => ({ record: toInstanceRecord(row), inbox: inboxes.get(row.id) ?? [] }));
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  commitTransitions(commits: readonly TransitionCommit[]): Promise<CommitOutcome[]> {
    return this.#call(async () => {
      for (const commit of commits) checkCommitStateId(commit.sagaId, commit.state.id);
      if (commits.length === 0) return [];
      return (await this.#write({ creates: [], commits })).commits;
    });
  }

  renewLeases(workerId: string, leases: readonly LeaseRef[], expiresAtMs: number, nowMs: number): Promise<boolean[]> {
    return this.#call(async () => {
      if (leases.length === 0) return [];
      const rows = await this.#db.write<{ id: string; epoch: number }>(this.#q.renewLeases, [
        workerId,
        expiresAtMs,
        leases.map((lease) => lease.sagaId),
        leases.map((lease) => lease.epoch),
        nowMs,
      ]);
      const renewed = new Set(rows.map((row) => `${row.epoch}:${row.id}`));
      return leases.map((lease) => renewed.has(`${lease.epoch}:${lease.sagaId}`));
    });
  }

  moveInstance(request: MoveInstanceRequest): Promise<MoveOutcome> {
    return this.#call(async (): Promise<MoveOutcome> => {
      checkCommitStateId(request.sagaId, request.state.id);
      const { state } = request;
      const moved = await this.#db.write(this.#q.moveInstance, [
        request.sagaId,
        request.epoch,
        request.nowMs,
        state.definitionVersion,
        stateToJson(state),
        state.status,
        isTerminal(state.status) ? null : state.wakeAtMs,
        state.updatedAtMs,
        request.history.length,
        historyToJson(request.history),
      ]);
      if (moved.length === 1) return { moved: true };
      const [guard] = await this.#db.query<{ epoch: number; lease_owner: string | null; lease_expires_at_ms: string | number | null }>(this.#q.selectMoveGuard, [request.sagaId]);
      if (guard === undefined) return { moved: false, reason: "not_found" };
      if (guard.lease_owner !== null && guard.lease_expires_at_ms !== null && Number(guard.lease_expires_at_ms) >= request.nowMs) return { moved: false, reason: "leased" };
      return { moved: false, reason: "changed" };
    });
  }

  releaseLease(workerId: string, lease: LeaseRef): Promise<boolean> {
    return this.#call(async () => {
      const rows = await this.#db.write(this.#q.releaseLease, [lease.sagaId, lease.epoch, workerId, this.channel]);
      return rows.length === 1;
    });
  }

  deliver(sagaId: string, message: InboxPayload, nowMs: number): Promise<DeliverOutcome> {
    return this.#call(async (): Promise<DeliverOutcome> => {
      const [reserved] = await this.#db.write<{ inbox_seq: number }>(this.#q.deliver, [sagaId, nowMs, JSON.stringify(message), this.channel, isOperatorRepair(message)]);
      if (reserved !== undefined) return { accepted: true, seq: reserved.inbox_seq };
      const [row] = await this.#db.query<{ status: string }>(this.#q.selectStatus, [sagaId]);
      if (row === undefined || !isSagaStatus(row.status)) return { accepted: false, reason: "not_found" };
      return { accepted: false, reason: "terminal", status: row.status };
    });
  }

  /** The earliest time a claim could take something: an unleased instance's wake-up, or the first millisecond after a lease expires. */
  nextWakeAtMs(definitions: readonly string[]): Promise<number | null> {
    return this.#call(async () => {
      if (definitions.length === 0) return null;
      const [row] = await this.#db.query<{ next_wake_at_ms: number | null }>(this.#q.selectNextWake, [[...definitions]]);
      return row?.next_wake_at_ms ?? null;
    });
  }

  /** Inserts if new, else reads what is kept: two statements, for the reason given at `insertDefinition`. */
  saveDefinition(definition: Omit<StoredDefinition, "createdAtMs">, nowMs: number): Promise<SaveDefinitionOutcome> {
    return this.#call(async (): Promise<SaveDefinitionOutcome> => {
      const checked = checkDefinitionToSave(definition, nowMs);
      const { name, version, hash } = checked;
      const written = await this.#db.write(this.#q.insertDefinition, [name, version, hash, checked.documentJson, checked.createdAtMs]);
      if (written.length === 1) {
        const row: DefinitionRow = { name, version, hash, document_json: checked.documentJson, created_at_ms: checked.createdAtMs };
        return { saved: true, definition: toStoredDefinition(row) };
      }
      const [kept] = await this.#db.query<DefinitionRow>(this.#q.selectDefinition, [name, version]);
      if (kept === undefined) throw new StoreUnavailableError(`${this.#db.label} refused to save ${name}@${version} without a definition in the way`);
      return refusedSave(toStoredDefinition(kept), hash);
    });
  }

  listDefinitions(): Promise<StoredDefinition[]> {
    return this.#call(async () => (await this.#db.query<DefinitionRow>(this.#q.selectDefinitions)).map((row) => toStoredDefinition(row)));
  }

  getDefinition(name: string, version: number): Promise<StoredDefinition | null> {
    return this.#call(async () => {
      checkDefinitionKey(name, version);
      const [row] = await this.#db.query<DefinitionRow>(this.#q.selectDefinition, [name, version]);
      return row === undefined ? null : toStoredDefinition(row);
    });
  }

  /**
   * LISTENs for work made due by any process on this schema (an unleased instance created, a
   * delivery, a lease given back on a waiting instance) over a connection of its own, and keeps
   * listening across connection losses, calling `listener` once after each reconnect.
   */
  subscribe(listener: () => void): Promise<() => Promise<void>> {
    return this.#call(async () => {
      const subscription = new NotificationListener(this.#db.clientConfig, this.channel, listener);
      await subscription.start();
      if (this.#closing !== undefined) {
        await subscription.stop();
        throw new StoreUnavailableError(`${this.#db.label} was closed while subscribing`);
      }
      this.#listeners.add(subscription);
      return async () => {
        this.#listeners.delete(subscription);
        await subscription.stop();
      };
    });
  }

  /** Stops every subscription and ends the pool; later calls reject with `StoreUnavailableError`. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const listeners = [...this.#listeners];
      this.#listeners.clear();
      await Promise.all(listeners.map((listener) => listener.stop()));
      await this.#db.end();
    })();
    return this.#closing;
  }

  /**
   * Writes a non-empty batch. One that fits one statement needs no BEGIN and COMMIT: the statement
   * is atomic and durable on its own, which saves two round trips per group commit (at low load
   * most of a commit's latency; under load, time a connection would sit idle in its transaction
   * waiting for this process's event loop). What may follow only reads (why an item was refused,
   * whose key was taken) or records fenced commits' late attempts, a statement of its own that
   * needs no transaction with anything else. A batch that needs several statements gets a
   * transaction.
   */
  #write(batch: WriteBatch): Promise<WriteBatchResult> {
    if (!fitsOneStatement(batch)) return this.#db.transaction((query) => writeBatchStatements(query, this.#q, this.channel, batch, false));
    const query: Query = (sql, params) => {
      if (sql === this.#q.appendRejectedWrites) return this.#db.write(sql, params);
      const name = this.#q.preparedWrites.get(sql);
      if (name === undefined) return this.#db.query(sql, params);
      return this.#db.write(sql, params, this.#preparedName(name));
    };
    return writeBatchStatements(query, this.#q, this.channel, batch, true);
  }

  /**
   * The name to run a group-commit statement under: prepared once per connection, it is parsed
   * once, and after five executions PostgreSQL may keep one generic plan for it instead of
   * planning every batch, which costs the server about as much as writing a batch of a hundred.
   * But that plan is made for the tables as they are then, and for a new store they are nearly
   * empty, where a sequential scan is the cheapest way to find a row; the plan would stay while
   * the tables grow (at one saga in flight, 200 sagas/s fell to 74 within half a minute). So each
   * time the statement's executions double (from 256), it is prepared afresh under a new name and
   * planned for the tables as they have become. Names are per connection, and a pool serves one
   * schema, so fixed names cannot collide; a connection holds at most 18 generations of each.
   */
  #preparedName(base: string): string {
    const executions = (this.#executions.get(base) ?? 0) + 1;
    this.#executions.set(base, executions);
    const generation = Math.min(17, Math.floor(Math.log2(1 + executions / 256)));
    return `${base}_${generation}`;
  }

  /** Rejects once closed; driver failures become `StoreUnavailableError` with the original as `cause`. */
  #call<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new StoreUnavailableError(`${this.#db.label} was closed; open it again`));
    return this.#db.call(work);
  }
}

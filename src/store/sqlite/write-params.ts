// The parameters of the statements a group commit runs, built from the store's requests. Kept
// apart from the store so the benchmark's SQLite ceiling binds exactly what the store binds.
import type { HistoryEntry } from "../../domain/history.js";
import { isTerminal } from "../../domain/status.js";
import type { CreateInstanceRequest, TransitionCommit } from "../saga-store.js";
import { historyToJson } from "../history-json.js";
import { stateToJson } from "../state-json.js";
import { HISTORY_COLUMNS, insertHistory } from "./queries.js";
import type { StatementRunner } from "./statement-runner.js";

/** History rows per INSERT statement (7 parameters each, far below SQLite's limit of 32 766). */
export const HISTORY_ROWS_PER_STATEMENT = 64;

/** `INSERT_INSTANCE`'s named parameters. */
export type InstanceInsertParams = {
  id: string;
  definitionName: string;
  definitionVersion: number;
  status: string;
  idempotencyKey: string | null;
  stateJson: string;
  wakeAtMs: number | null;
  leaseOwner: string | null;
  leaseExpiresAtMs: number | null;
  epoch: number;
  historyCount: number;
  createdAtMs: number;
  updatedAtMs: number;
  endedAtMs: number | null;
};

/** `UPDATE_COMMITTED`'s named parameters; `UPDATE_COMMITTED_KEEPING_SCHEDULE` takes the same object and ignores what it does not name. */
export type CommitParams = {
  sagaId: string;
  epoch: number;
  workerId: string;
  nowMs: number;
  stateJson: string;
  status: string;
  wakeAtMs: number | null;
  updatedAtMs: number;
  endedAtMs: number | null;
  leaseOwner: string | null;
  leaseExpiresAtMs: number | null;
  inboxSeq: number;
  historyAdded: number;
};

/**
 * Every key of `InstanceInsertParams` and of `CommitParams`, in the order the writer thread's
 * messages carry their values (flat arrays cost a third of objects to pass to a thread). Typed so
 * that a key added to a type and not here fails to compile (`KeyList`).
 */
export const INSTANCE_INSERT_KEYS = keyList<InstanceInsertParams>()([
  "id",
  "definitionName",
  "definitionVersion",
  "status",
  "idempotencyKey",
  "stateJson",
  "wakeAtMs",
  "leaseOwner",
  "leaseExpiresAtMs",
  "epoch",
  "historyCount",
  "createdAtMs",
  "updatedAtMs",
  "endedAtMs",
]);
export const COMMIT_KEYS = keyList<CommitParams>()([
  "sagaId",
  "epoch",
  "workerId",
  "nowMs",
  "stateJson",
  "status",
  "wakeAtMs",
  "updatedAtMs",
  "endedAtMs",
  "leaseOwner",
  "leaseExpiresAtMs",
  "inboxSeq",
  "historyAdded",
]);

/** `keys` when it names every key of `T` (once each is not checked; the tests compare lengths). */
function keyList<T>(): <K extends ReadonlyArray<keyof T>>(keys: K & (Exclude<keyof T, K[number]> extends never ? unknown : { missing: Exclude<keyof T, K[number]> })) => K {
  return (keys) => keys;
}

/** Appends `params`' values to `values` in `keys`' order. */
export function pushValues<T>(values: unknown[], params: T, keys: ReadonlyArray<keyof T>): void {
  for (const key of keys) values.push(params[key]);
}

export function instanceInsertParams(request: CreateInstanceRequest): InstanceInsertParams {
  const { state, lease } = request;
  const terminal = isTerminal(state.status);
  return {
    id: state.id,
    definitionName: state.definitionName,
    definitionVersion: state.definitionVersion,
    status: state.status,
    idempotencyKey: state.idempotencyKey,
    stateJson: stateToJson(state),
    wakeAtMs: terminal ? null : state.wakeAtMs,
    leaseOwner: lease?.owner ?? null,
    leaseExpiresAtMs: lease?.expiresAtMs ?? null,
    epoch: lease === undefined ? 0 : 1,
    historyCount: request.history.length,
    createdAtMs: state.createdAtMs,
    updatedAtMs: state.updatedAtMs,
    endedAtMs: terminal ? (state.endedAtMs ?? state.updatedAtMs) : null,
  };
}

export function commitParams(commit: TransitionCommit): CommitParams {
  const { state } = commit;
  const terminal = isTerminal(state.status);
  return {
    sagaId: commit.sagaId,
    epoch: commit.epoch,
    workerId: commit.workerId,
    nowMs: commit.nowMs,
    stateJson: stateToJson(state),
    status: state.status,
    wakeAtMs: terminal ? null : state.wakeAtMs,
    updatedAtMs: state.updatedAtMs,
    endedAtMs: terminal ? (state.endedAtMs ?? commit.nowMs) : null,
    leaseOwner: commit.lease === "release" ? null : commit.workerId,
    leaseExpiresAtMs: commit.lease === "release" ? null : commit.lease.expiresAtMs,
    inboxSeq: commit.inboxSeq,
    historyAdded: commit.history.length,
  };
}

/**
 * Whether the commit is a step's outcome and the next step's start (the lease kept, due now), which
 * first tries `UPDATE_COMMITTED_KEEPING_SCHEDULE`: the update that touches no index. Not a commit
 * that changes the saga's status (a rollback beginning, an operator's retry reopening it): that
 * update, which requires the stored status, would match nothing, one statement spent for nothing
 * in every compensated saga. Any status change missed here only costs that statement: the caller
 * then runs `UPDATE_COMMITTED`.
 */
export function keepsSchedule(commit: TransitionCommit): boolean {
  const { state } = commit;
  return commit.lease !== "release" && !isTerminal(state.status) && state.wakeAtMs !== null && state.wakeAtMs <= commit.nowMs && !changesStatus(commit.history);
}

/** Whether the entries record a change of the saga's status that is not its end. */
function changesStatus(history: readonly HistoryEntry[]): boolean {
  for (const entry of history) {
    if (entry.type === "compensation_started" || entry.type === "retry_requested") return true;
  }
  return false;
}

/**
 * Appends one history row (the entries one write appended, numbered from `firstSeq`) to `values`,
 * flattened in `insertHistory`'s column order, so that a group commit inserts many rows per
 * statement. Writes nothing for no entries.
 */
export function pushHistoryRow(values: unknown[], sagaId: string, firstSeq: number, entries: readonly HistoryEntry[], workerId: string | null, epoch: number | null): void {
  const [first] = entries;
  if (first === undefined) return;
  values.push(sagaId, firstSeq, entries.length, first.atMs, workerId, epoch, historyToJson(entries));
}

/**
 * Appends the history row for `entries` to a writer thread's `values` without its saga id and
 * first seq, which the thread fills in from the row its statement wrote (see `ThreadBatch`): the
 * entry count (0 and four nulls for no entries), `at_ms`, worker id, epoch, the entries' JSON.
 */
export function pushHistoryTail(values: unknown[], entries: readonly HistoryEntry[], workerId: string | null, epoch: number | null): void {
  const [first] = entries;
  if (first === undefined) values.push(0, null, null, null, null);
  else values.push(entries.length, first.atMs, workerId, epoch, historyToJson(entries));
}

/** Inserts the history rows flattened in `values`, `HISTORY_ROWS_PER_STATEMENT` per statement, and empties it. */
export function insertHistoryRows(sql: StatementRunner, values: unknown[]): void {
  const perStatement = HISTORY_ROWS_PER_STATEMENT * HISTORY_COLUMNS;
  for (let offset = 0; offset < values.length; offset += perStatement) {
    const chunk = values.slice(offset, offset + perStatement);
    sql.run(insertHistory(chunk.length / HISTORY_COLUMNS), chunk);
  }
  values.length = 0;
}

/**
 * Row shapes the SQL adapters (SQLite, PostgreSQL) read, and their conversion to the contract's
 * types. Both dialects name and type their columns alike (ids text, times epoch ms, JSON text),
 * so one set of converters serves both. The memory store keeps definitions as `DefinitionRow`s too,
 * so that their documents go in and come out as JSON text exactly as in the SQL adapters.
 */
import type { HistoryEntry, StoredHistoryEntry } from "../domain/history.js";
import type { JsonValue } from "../domain/json.js";
import type { SagaState } from "../domain/state.js";
import { StoreUnavailableError } from "../errors.js";
import type { InboxMessage, InboxPayload, InstanceRecord, StoredDefinition } from "./saga-store.js";
import { fromStoredEntries } from "./history-json.js";
import { fromStoredState, type StateColumns, type StoredState } from "./state-json.js";

/** Columns of `saga_instances` a state is built from (`stateColumnList`). */
export interface StateRow extends StateColumns {
  state_json: string;
}

/** Columns of `saga_instances` an `InstanceRecord` is built from. */
export interface InstanceRow extends StateRow {
  epoch: number;
  lease_owner: string | null;
  lease_expires_at_ms: number | null;
  inbox_seq: number;
  inbox_applied_seq: number;
}

/** A claimed instance, with the wake-up it was claimed for (claims are returned in that order). */
export interface ClaimedRow extends InstanceRow {
  wake_at_ms: number;
}

/** What a commit is checked against. */
export interface CommitGuardRow {
  epoch: number;
  lease_owner: string | null;
  lease_expires_at_ms: number | null;
  inbox_seq: number;
  inbox_applied_seq: number;
  history_count: number;
}

/**
 * A row of `saga_history`, without the saga id it was read by: the entries one write appended,
 * numbered from `seq`, and who wrote them.
 */
export interface HistoryRow {
  seq: number;
  worker_id: string | null;
  epoch: number | null;
  entries_json: string;
}

/** A row of `saga_inbox`, without the saga id it was read by. */
export interface InboxRow {
  seq: number;
  event_json: string;
  received_at_ms: number;
}

/** One group of `COUNT_BY_STATUS`. */
export interface StatusCountRow {
  status: string;
  count: number;
}

/** One row of an activity query: a bucket index, what it counts (`started` or a terminal status) and how many. */
export interface ActivityRow {
  bucket: number;
  kind: string;
  count: number;
}

/** A row of `saga_definitions`. */
export interface DefinitionRow {
  name: string;
  version: number;
  hash: string;
  document_json: string;
  created_at_ms: number;
}

/** Parses JSON the store wrote; a failure means the database was damaged or edited by hand. */
export function parseStored<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (error) {
    throw new StoreUnavailableError(`the store holds unreadable JSON in ${what}; restore the database from a backup`, { cause: error });
  }
}

/** A row's state (see `stateToJson`); a failure means the database was damaged or edited by hand. */
export function parseStoredState(row: StateRow, what = `saga_instances.state_json of ${row.id}`): SagaState {
  return fromStoredState(parseStored<StoredState>(row.state_json, what), row);
}

/** The record a row describes, its state parsed. */
export function toInstanceRecord(row: InstanceRow): InstanceRecord {
  return {
    state: parseStoredState(row),
    epoch: row.epoch,
    leaseOwner: row.lease_owner,
    leaseExpiresAtMs: row.lease_expires_at_ms,
    inboxSeq: row.inbox_seq,
    inboxAppliedSeq: row.inbox_applied_seq,
  };
}

/**
 * The history entries of an instance's rows (in `seq` order), each with its number and, when a
 * worker wrote it, that worker and its epoch.
 */
export function toStoredHistory(sagaId: string, rows: readonly HistoryRow[]): StoredHistoryEntry[] {
  const stored: StoredHistoryEntry[] = [];
  for (const row of rows) {
    const what = `saga_history.entries_json of ${sagaId} #${row.seq}`;
    const parsed = parseStored<HistoryEntry[]>(row.entries_json, what);
    if (!Array.isArray(parsed)) throw new StoreUnavailableError(`the store holds a non-array in ${what}; restore the database from a backup`);
    const entries = fromStoredEntries(parsed, what);
    entries.forEach((entry, index) => {
      stored.push({
        ...entry,
        seq: row.seq + index,
        ...(row.worker_id === null ? {} : { workerId: row.worker_id }),
        ...(row.epoch === null ? {} : { epoch: row.epoch }),
      });
    });
  }
  return stored;
}

/** An inbox message, its event parsed. */
export function toInboxMessage(sagaId: string, row: InboxRow): InboxMessage {
  return {
    seq: row.seq,
    event: parseStored<InboxPayload>(row.event_json, `saga_inbox.event_json of ${sagaId} #${row.seq}`),
    receivedAtMs: row.received_at_ms,
  };
}

/** The definition a row describes, its document parsed: a fresh copy on every call. */
export function toStoredDefinition(row: DefinitionRow): StoredDefinition {
  const what = `saga_definitions.document_json of ${row.name}@${row.version}`;
  const document = parseStored<JsonValue>(row.document_json, what);
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new StoreUnavailableError(`the store holds a non-object in ${what}; restore the database from a backup`);
  }
  return { name: row.name, version: row.version, hash: row.hash, document, createdAtMs: row.created_at_ms };
}

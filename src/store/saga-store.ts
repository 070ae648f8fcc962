import type { AbortRequestedEvent, CancelRequestedEvent, ResolveRequestedEvent, RetryRequestedEvent, SignalReceivedEvent, SkipRequestedEvent, StepCompletedEvent, StepFailedEvent } from "../domain/events.js";
import type { HistoryEntry, StoredHistoryEntry } from "../domain/history.js";
import type { JsonValue } from "../domain/json.js";
import type { SagaState } from "../domain/state.js";
import type { SagaStatus } from "../domain/status.js";

/**
 * The store contract every adapter (memory, SQLite, PostgreSQL) implements, and that one
 * conformance suite (test/store/conformance.ts) checks for all of them.
 *
 * What it guarantees:
 * - A promise that resolved means the write is durable to the adapter's setting
 *   (SQLite: WAL with synchronous=FULL by default). Nothing is reported before that (G2).
 * - Each write of one instance is atomic: its state row, its new history entries and the
 *   inbox messages it consumed change together or not at all. A batch (`commitTransitions`,
 *   `writeBatch`) is one transaction: what it reports is durable together.
 * - Fencing (G5): claiming an instance increments its `epoch`; a commit, renewal or release
 *   that names an older epoch, another owner, or a lease that expired, changes nothing and
 *   says so (`fenced`) — except that a fenced commit of an existing instance appends one
 *   `write_rejected` entry to its history (with the late writer's worker id and epoch), so
 *   the late attempt is on record. One fenced item never fails the
 *   other items of the same batch.
 * - History is append-only and numbered from 1 per instance, in commit order.
 * - Inbox messages (cancels today; signals later) are never lost: a commit that did not see
 *   every message delivered so far is refused with `inbox_changed`, carrying the new ones.
 * - An idempotency key names at most one instance, also under concurrent creates and within
 *   one `writeBatch`.
 * - Group commit: `writeBatch` writes new instances and transitions of many sagas in one
 *   transaction, each item with its own outcome (`Orchestrator.start` and the worker's drivers
 *   share it through the runtime's group committer).
 * - Saga definitions registered at run time (declarative ones) are kept by `name@version`, which
 *   is immutable once saved: of any number of concurrent saves of one `name@version`, from any
 *   process, exactly one writes; the others are told what was kept. Every worker of a fleet
 *   reads the same definitions.
 *
 * What it leaves out on purpose: no connections or transactions in its types (each adapter
 * owns those), no engine logic (it stores state, it does not interpret it), no clock (every
 * time is passed in as epoch milliseconds). Whether a state (or history entry) handed to or
 * returned by a write is copied is the adapter's business: callers never mutate what they passed
 * to a write or got back from `createInstance`, `writeBatch` or `claimDue` (the memory store
 * keeps those objects by reference); the read calls (`getInstance`, `findByIdempotencyKey`, `getHistory`,
 * `listInstances`) always return copies the caller owns.
 */
export interface SagaStore {
  /**
   * How many `writeBatch` calls the adapter can usefully run at once (PostgreSQL: several pooled
   * connections, each its own transaction). Absent means 1: a group committer then writes one
   * batch at a time. Concurrent batches never hold two writes of one instance (a driver waits
   * for each commit), so their order does not matter.
   */
  readonly concurrentWrites?: number;

  /**
   * The most creates and commits the adapter wants in one `writeBatch` (a group committer forms
   * no larger batch); absent means the committer's own limit. A larger batch is never refused.
   */
  readonly maxBatchSize?: number;

  /** Applies pending migrations; safe to call more than once. Other calls may assume it ran. */
  init(): Promise<void>;

  /**
   * Persists a new instance with its first history entries. When `state.idempotencyKey` already
   * names an instance, nothing is written and that instance is returned with `created: false`.
   */
  createInstance(request: CreateInstanceRequest): Promise<CreateInstanceResult>;

  getInstance(sagaId: string): Promise<InstanceRecord | null>;
  findByIdempotencyKey(key: string): Promise<InstanceRecord | null>;
  getHistory(sagaId: string): Promise<StoredHistoryEntry[]>;
  /** Newest first (by creation time, then id). */
  listInstances(query: ListQuery): Promise<ListPage>;
  countByStatus(): Promise<Record<SagaStatus, number>>;
  /**
   * Instances still going (`running` or `compensating`) per definition name and version, ordered
   * by name then version: which versions a fleet must still run.
   */
  countUnfinishedByDefinition(): Promise<UnfinishedCount[]>;
  /**
   * Sagas started and ended per time bucket over `[fromMs, toMs)`, for the dashboard's charts:
   * one bucket per `bucketMs` from `fromMs` (the last one may be shorter), oldest first, empty
   * buckets included. `started` counts instances by creation time; `completed`, `compensated`
   * and `failed` count instances whose current status is that one, by the time they ended.
   * Throws `InvalidArgumentError` unless the times are integers, `fromMs < toMs`, `bucketMs`
   * ≥ 1000, and the range holds at most `MAX_ACTIVITY_BUCKETS` buckets.
   */
  activity(query: ActivityQuery): Promise<ActivityBucket[]>;

  /**
   * Takes up to `limit` instances that are due (`wakeAtMs ≤ nowMs`), not terminal (or `failed` with a retry delivered), of one of
   * `definitions`, and not leased (or whose lease expired), oldest wake-up first. Each claimed
   * instance gets `epoch + 1` and a lease for `workerId` until `nowMs + leaseMs`.
   */
  claimDue(request: ClaimRequest): Promise<ClaimedInstance[]>;

  /** Commits many instances' transitions together (group commit); one outcome per item, in order. */
  commitTransitions(commits: readonly TransitionCommit[]): Promise<CommitOutcome[]>;

  /**
   * Group commit of new instances and transitions together, in ONE transaction (one fsync): the
   * creates first, in order, then the commits, in order, each with its own outcome. A create
   * behaves as `createInstance`, except that an id already in use fails that create alone
   * (`ok: false`) instead of the call; idempotency keys stay exact within the batch too (a later
   * create with a key an earlier one took gets `created: false` and the earlier instance). Commits
   * behave as `commitTransitions`. A caller's bug in a commit (see `commitTransitions`) still
   * rejects the whole call and writes nothing.
   */
  writeBatch(batch: WriteBatch): Promise<WriteBatchResult>;

  /**
   * Extends the leases still held at the given epochs until `expiresAtMs`; `false` for each one
   * that was lost — taken over, or expired before `nowMs`. A lease that ran out stays lost even
   * when nobody took it over yet (G5): its holder must stop, and the next claim recovers the saga.
   */
  renewLeases(workerId: string, leases: readonly LeaseRef[], expiresAtMs: number, nowMs: number): Promise<boolean[]>;

  /**
   * Moves an instance onto another version of its definition (an operator's migration): writes
   * `state` (whose `definitionVersion` names the new version) and appends `history`, but only
   * while the instance is still at `epoch` and nobody holds a live lease on it (it waits between
   * steps); bumps the epoch, so a worker that claimed it before cannot write any more (G5). The
   * instance is due at `state.wakeAtMs` as usual. Refused, writing nothing, when it is unknown,
   * leased, or changed since it was read.
   */
  moveInstance(request: MoveInstanceRequest): Promise<MoveOutcome>;

  /** Gives a lease back without changing state, e.g. on shutdown. `false` if it was already lost. */
  releaseLease(workerId: string, lease: LeaseRef): Promise<boolean>;

  /**
   * Delivers a message to an instance's inbox and makes the instance due at `nowMs`, so a
   * worker picks it up. Refused (nothing written) when the instance is terminal or unknown, except
   * a `retry_requested` to a `failed` instance: that reopens it, and `claimDue` then hands the
   * failed instance to a worker until the retry is applied.
   */
  deliver(sagaId: string, message: InboxPayload, nowMs: number): Promise<DeliverOutcome>;

  /** Earliest `wakeAtMs` of a non-terminal, unleased instance of `definitions`, or null. */
  nextWakeAtMs(definitions: readonly string[]): Promise<number | null>;

  /**
   * Keeps a saga definition registered at run time (a declarative document), immutable once saved.
   * Writes it only when its `name@version` is new (`saved: true`, with `createdAtMs` = `nowMs`);
   * otherwise writes nothing and returns the definition already kept: `exists` when its hash is
   * the same (an idempotent repeat), `conflict` when it differs. Of concurrent saves of one
   * `name@version` from any connection or process, exactly one is `saved`. The store does not
   * recompute `hash`: the caller hashes its canonical form of the document.
   *
   * Throws `InvalidArgumentError` naming the field, writing nothing, unless `name` matches the
   * saga name pattern (`DEFINITION_NAME_PATTERN`), `version` is an integer from 1 to
   * `MAX_DEFINITION_VERSION`, `hash` is 64 lower-case hex digits, `document` is a JSON object
   * (plain objects, arrays, strings, finite numbers, booleans, null; nested at most
   * `MAX_DEFINITION_DEPTH` deep) of at most `MAX_DEFINITION_BYTES` of UTF-8 JSON, and `nowMs`
   * is an integer.
   *
   * @example
   * const outcome = await store.saveDefinition({ name: "trip", version: 2, hash, document }, Date.now());
   * if (!outcome.saved && outcome.reason === "conflict") throw new Error(`trip@2 is already saved with hash ${outcome.definition.hash}`);
   */
  saveDefinition(definition: Omit<StoredDefinition, "createdAtMs">, nowMs: number): Promise<SaveDefinitionOutcome>;

  /** Every saved definition, ordered by name (by code point), then version; documents included. */
  listDefinitions(): Promise<StoredDefinition[]>;

  /**
   * The definition saved as `name@version`, or null. Throws `InvalidArgumentError` for a `name`
   * or `version` that `saveDefinition` would refuse.
   */
  getDefinition(name: string, version: number): Promise<StoredDefinition | null>;

  /**
   * Calls `listener` when work may have become due without this process knowing: an
   * instance was created unclaimed, released, or delivered to — by any process. Resolves
   * with the function that unsubscribes. Optional: workers on stores without it poll.
   */
  subscribe?(listener: () => void): Promise<() => Promise<void>>;

  close(): Promise<void>;
}

/** `name@version`, how claims select the definitions a worker can run. */
export function definitionKey(name: string, version: number): string {
  return `${name}@${version}`;
}

export interface InstanceRecord {
  state: SagaState;
  /** Fencing token: incremented by every claim. */
  epoch: number;
  leaseOwner: string | null;
  leaseExpiresAtMs: number | null;
  /** Sequence number of the last inbox message delivered (0 = none ever). */
  inboxSeq: number;
  /** Sequence number of the last inbox message a commit applied. */
  inboxAppliedSeq: number;
}

export interface CreateInstanceRequest {
  state: SagaState;
  history: readonly HistoryEntry[];
  /** Claim the new instance for this worker in the same write; it then starts at epoch 1. */
  lease?: { owner: string; expiresAtMs: number };
}

export type CreateInstanceResult = { created: true; record: InstanceRecord } | { created: false; record: InstanceRecord };

/** New instances and transitions of existing ones, written in one transaction. */
export interface WriteBatch {
  creates: readonly CreateInstanceRequest[];
  commits: readonly TransitionCommit[];
}

/** One outcome per item of a `WriteBatch`, in the same order. */
export interface WriteBatchResult {
  creates: CreateOutcome[];
  commits: CommitOutcome[];
}

/** A create of a batch: its result, or the error that refused it alone (`InvalidArgumentError`: id in use). */
export type CreateOutcome = { ok: true; result: CreateInstanceResult } | { ok: false; error: Error };

export interface ListQuery {
  statuses?: readonly SagaStatus[];
  definitionName?: string;
  createdFromMs?: number;
  createdToMs?: number;
  /** 1–1000. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface MoveInstanceRequest {
  sagaId: string;
  /** The epoch the caller read the instance at. */
  epoch: number;
  nowMs: number;
  state: SagaState;
  history: HistoryEntry[];
}

export type MoveOutcome = { moved: true } | { moved: false; reason: "not_found" | "leased" | "changed" };

export interface UnfinishedCount {
  definitionName: string;
  definitionVersion: number;
  count: number;
}

export interface ActivityQuery {
  fromMs: number;
  toMs: number;
  bucketMs: number;
}

/** One bucket of `SagaStore.activity`: `[startMs, startMs + bucketMs)`. */
export interface ActivityBucket {
  startMs: number;
  started: number;
  completed: number;
  compensated: number;
  failed: number;
}

/** A day of minutes: enough for any chart, small enough that a query cannot ask for millions of rows of zeroes. */
export const MAX_ACTIVITY_BUCKETS = 1440;

export interface ListPage {
  items: SagaState[];
  nextCursor: string | null;
}

export interface ClaimRequest {
  workerId: string;
  nowMs: number;
  leaseMs: number;
  limit: number;
  /** `definitionKey(name, version)` of every definition this worker can run. */
  definitions: readonly string[];
}

export interface ClaimedInstance {
  record: InstanceRecord;
  /** Messages delivered after `record.inboxAppliedSeq`, oldest first. */
  inbox: InboxMessage[];
}

/**
 * What can be delivered to a saga from outside: a cancel, the answer to a waiting step, or an
 * operator's retry, the one message a `failed` saga still takes (it reopens it).
 */
/**
 * Whether a message is one of an operator's repairs, which a `failed` instance still takes (and
 * which makes it claimable until applied): retry, skip a compensation, mark resolved.
 */
export function isOperatorRepair(message: InboxPayload): boolean {
  return message.type === "retry_requested" || message.type === "skip_requested" || message.type === "resolve_requested";
}

export type InboxPayload = CancelRequestedEvent | StepCompletedEvent | StepFailedEvent | RetryRequestedEvent | SignalReceivedEvent | SkipRequestedEvent | ResolveRequestedEvent | AbortRequestedEvent;

export interface InboxMessage {
  seq: number;
  event: InboxPayload;
  receivedAtMs: number;
}

export type DeliverOutcome =
  | { accepted: true; seq: number }
  | { accepted: false; reason: "not_found" }
  | { accepted: false; reason: "terminal"; status: SagaStatus };

export interface LeaseRef {
  sagaId: string;
  epoch: number;
}

export interface TransitionCommit {
  sagaId: string;
  /** The epoch of the caller's claim; the write is refused when the instance has moved past it. */
  epoch: number;
  workerId: string;
  /** The write is also refused when the caller's lease expired before this time. */
  nowMs: number;
  state: SagaState;
  /** Appended after the instance's existing history. */
  history: readonly HistoryEntry[];
  /** The caller applied every inbox message up to this sequence number. */
  inboxSeq: number;
  /** Keep the lease until `expiresAtMs`, or give it back (the instance then waits for `state.wakeAtMs`). */
  lease: { expiresAtMs: number } | "release";
}

export type CommitOutcome =
  | { ok: true }
  | { ok: false; reason: "fenced" }
  /** Messages arrived that the caller did not apply; apply them and commit again. */
  | { ok: false; reason: "inbox_changed"; inbox: InboxMessage[] };

/**
 * A saga definition registered at run time, as the store keeps it. Every call returns copies the
 * caller owns: the document went in and comes out as JSON text.
 */
export interface StoredDefinition {
  /** The saga's name, as in `defineSaga` (`DEFINITION_NAME_PATTERN`). */
  name: string;
  /** A positive integer; `name@version` never changes once saved. */
  version: number;
  /** SHA-256 of the canonical document, 64 lower-case hex digits, computed by the caller. */
  hash: string;
  /** The declarative document: a JSON object. */
  document: JsonValue;
  /** When it was first saved (the `nowMs` of the save that wrote it). */
  createdAtMs: number;
}

/**
 * What `saveDefinition` did. Unless `saved`, nothing was written and `definition` is the one kept
 * before: `exists` for the same hash (an idempotent repeat), `conflict` for another hash.
 */
export type SaveDefinitionOutcome =
  | { saved: true; definition: StoredDefinition }
  | { saved: false; reason: "exists"; definition: StoredDefinition }
  | { saved: false; reason: "conflict"; definition: StoredDefinition };

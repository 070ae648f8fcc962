import type { HistoryEntry, StoredHistoryEntry } from "../../domain/history.js";
import type { SagaState } from "../../domain/state.js";
import { isTerminal, type SagaStatus } from "../../domain/status.js";
import { InvalidArgumentError, StoreUnavailableError } from "../../errors.js";
import { checkDefinitionKey, checkDefinitionToSave, refusedSave } from "../definition-checks.js";
import { compareIds, encodeListCursor } from "../list-cursor.js";
import { rejectedWriteEntry } from "../rejected-write.js";
import { checkActivityQuery, checkClaimRequest, checkCommitInboxSeq, checkCommitStateId, checkListQuery, zeroCounts } from "../request-checks.js";
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
import { definitionKey, isOperatorRepair } from "../saga-store.js";
import { toStoredDefinition, type DefinitionRow } from "../stored-rows.js";
import { InPlaceMap } from "../../collections/in-place-map.js";
import { DueIndex, newSlot } from "./due-index.js";
import { ArchivedSaga, EndedArchive, endsForGood } from "./ended-archive.js";
import { hashString } from "./record-table.js";
import { NO_MESSAGES, LiveInstance, type StoredInstance, type Writer } from "./stored-instance.js";

/** A saga as the listings and counts see it: live, or archived and read by its columns. */
type Kept = LiveInstance | ArchivedSaga;

export interface MemoryStoreOptions {
  /**
   * How many of the sagas that ended `completed` or `compensated` to keep: the most recently
   * ended ones. When one more ends, the one that ended longest ago is forgotten whole: its state,
   * its history and its idempotency key (a later start with that key creates a new saga), so
   * `getInstance` finds nothing for it and the listings and counts leave it out. Sagas still
   * going, and `failed` ones (an operator may retry them), are always kept. Absent: every saga is
   * kept for the store's life, as the SQL stores keep them. For a long-running process on this
   * store (a development server, a test that runs millions of sagas), whose memory would otherwise
   * grow with every saga (outside V8's heap: some 420 bytes a 3-step saga).
   */
  keepEnded?: number;
}

/**
 * What the commits of a batch must put back if a later item of the batch throws, newest last: per
 * commit `UNDO_FIELDS` values in one array for the whole batch (the instance, then the fields a
 * commit sets, then how long the history was), not an object per commit, since nearly every batch
 * throws nothing.
 */
type UndoLog = unknown[];
const UNDO_FIELDS = 8;

/** A commit written: one answer shared by every such commit (callers only read it). */
const COMMITTED: CommitOutcome = Object.freeze({ ok: true });

/**
 * A `SagaStore` in process memory, for tests and for measuring the engine without I/O. Nothing
 * survives the process.
 *
 * Writes keep what they are given by reference (states, history entries), and `createInstance`,
 * `writeBatch` and `claimDue` hand stored states back by reference: copying every state in and
 * out would cost more than the engine itself. So, as the contract says, a caller must not mutate
 * a state it committed or got from those calls (the engine returns fresh objects and the runtime
 * never mutates them). The read calls users make (`getInstance`, `findByIdempotencyKey`,
 * `getHistory`, `listInstances`) return deep copies. A saga that ended `completed` or
 * `compensated` is then archived as bytes outside V8's heap (`ended-archive.ts`), which its
 * collector never visits; reads build it again. Claims use an index of due instances, so
 * they cost O(k log n), not a scan. Saved definitions are kept as JSON text, so their documents
 * are copied in and out, as the SQL adapters do. It keeps every saga unless told to keep only the
 * last ones that ended (`MemoryStoreOptions.keepEnded`).
 */
export class MemoryStore implements SagaStore {
  /**
   * Sagas still going, and `failed` ones. Sagas leave it when they end for good, all the time: a
   * `Map` would keep them alive through young-generation collections (see `InPlaceMap`).
   */
  #live = new InPlaceMap<LiveInstance>();
  /** Sagas that ended for good, unless `keepEnded` is 0. */
  readonly #archive = new EndedArchive();
  /** The ids of the live sagas by idempotency key (the archive has its own). */
  readonly #idsByKey = new Map<string, string>();
  readonly #due = new DueIndex();
  /** Saved definitions by `name@version`, as the SQL adapters' rows. */
  readonly #definitions = new Map<string, DefinitionRow>();
  /** `keepEnded`, or null to keep every saga. */
  readonly #keepEnded: number | null;
  #closed = false;

  /** Throws `InvalidArgumentError` for a `keepEnded` that is not a whole number ≥ 0. */
  constructor(options: MemoryStoreOptions = {}) {
    const { keepEnded } = options;
    if (keepEnded !== undefined && !(Number.isSafeInteger(keepEnded) && keepEnded >= 0)) {
      throw new InvalidArgumentError("keepEnded", `must be a whole number of sagas ≥ 0, or left out to keep every saga; got ${String(keepEnded)}`);
    }
    this.#keepEnded = keepEnded ?? null;
  }

  init(): Promise<void> {
    return this.#call(() => undefined);
  }

  createInstance(request: CreateInstanceRequest): Promise<CreateInstanceResult> {
    return this.#call((): CreateInstanceResult => {
      const ended: LiveInstance[] = [];
      const outcome = this.#createOne(request, undefined, ended);
      if (!outcome.ok) throw outcome.error;
      this.#settleEnded(ended);
      return outcome.result;
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  writeBatch(batch: WriteBatch): Promise<WriteBatchResult> {
    return this.#call((): WriteBatchResult => {
      for (const commit of batch.commits) checkCommitStateId(commit.sagaId, commit.state.id);
      const created: LiveInstance[] = [];
      const undo: UndoLog = [];
      // Archived or forgotten only once the whole batch is written: a batch that throws puts back what it changed.
      const ended: LiveInstance[] = [];
      let result: WriteBatchResult;
      try {
        // Loops rather than `map` with a closure each: a batch holds hundreds of items at load.
        const creates = new Array<CreateOutcome>(batch.creates.length);
        for (let i = 0; i < creates.length; i++) creates[i] = this.#createOne(batch.creates[i] as CreateInstanceRequest, created, ended);
        const commits = new Array<CommitOutcome>(batch.commits.length);
        for (let i = 0; i < commits.length; i++) commits[i] = this.#commitOne(batch.commits[i] as TransitionCommit, undo, ended);
        result = { creates, commits };
      } catch (error) {
        this.#undo(undo);
        for (const instance of created) this.#forgetLive(instance);
        throw error;
      }
      this.#settleEnded(ended);
      return result;
    });
  }

  getInstance(sagaId: string): Promise<InstanceRecord | null> {
    return this.#call(() => {
      const live = this.#live.get(sagaId);
      if (live !== undefined) return toRecord(live, true);
      // An archived saga is read into fresh objects: nothing to copy.
      const archived = this.#archive.get(sagaId);
      return archived === undefined ? null : toRecord(archived, false);
    });
  }

  findByIdempotencyKey(key: string): Promise<InstanceRecord | null> {
    return this.#call(() => {
      const id = this.#idsByKey.get(key);
      const live = id === undefined ? undefined : this.#live.get(id);
      if (live !== undefined) return toRecord(live, true);
      const archived = this.#archive.getByKey(key);
      return archived === undefined ? null : toRecord(archived, false);
    });
  }

  getHistory(sagaId: string): Promise<StoredHistoryEntry[]> {
    return this.#call(() => {
      const live = this.#live.get(sagaId);
      const instance = live ?? this.#archive.get(sagaId);
      if (instance === undefined) return [];
      return instance.history.map((entry, index): StoredHistoryEntry => {
        const writer = instance.writers[index] ?? null;
        const seq = index + 1;
        const copy = live === undefined ? entry : structuredClone(entry);
        return writer === null ? { ...copy, seq } : { ...copy, seq, workerId: writer.workerId, epoch: writer.epoch };
      });
    });
  }


  listInstances(query: ListQuery): Promise<ListPage> {
    return this.#call((): ListPage => {
      const checked = checkListQuery(query);
      const { after } = checked;
      const matching = [...this.#all()]
        .filter((kept) => {
          const createdAtMs = createdAtMsOf(kept);
          return (
            (checked.statuses === null || checked.statuses.includes(statusOf(kept))) &&
            (checked.definitionName === null || definitionNameOf(kept) === checked.definitionName) &&
            (checked.createdFromMs === null || createdAtMs >= checked.createdFromMs) &&
            (checked.createdToMs === null || createdAtMs < checked.createdToMs) &&
            (after === null || createdAtMs < after.createdAtMs || (createdAtMs === after.createdAtMs && compareIds(idOf(kept), after.id) < 0))
          );
        })
        .sort((a, b) => createdAtMsOf(b) - createdAtMsOf(a) || compareIds(idOf(b), idOf(a)));
      const items = matching.slice(0, checked.limit).map((kept) => this.#copiedRecord(kept).state);
      const last = items[items.length - 1];
      const more = matching.length > checked.limit && last !== undefined;
      return { items, nextCursor: more ? encodeListCursor({ createdAtMs: last.createdAtMs, id: last.id }) : null };
    });
  }

  countByStatus(): Promise<Record<SagaStatus, number>> {
    return this.#call(() => {
      const counts = zeroCounts();
      for (const instance of this.#live.values()) counts[instance.state.status]++;
      counts.completed += this.#archive.count("completed");
      counts.compensated += this.#archive.count("compensated");
      return counts;
    });
  }

  countUnfinishedByDefinition(): Promise<UnfinishedCount[]> {
    return this.#call(() => {
      const counts = new Map<string, UnfinishedCount>();
      for (const { state } of this.#live.values()) {
        if (state.status !== "running" && state.status !== "compensating") continue;
        const key = definitionKey(state.definitionName, state.definitionVersion);
        const entry = counts.get(key) ?? { definitionName: state.definitionName, definitionVersion: state.definitionVersion, count: 0 };
        entry.count++;
        counts.set(key, entry);
      }
      return [...counts.values()].sort((a, b) => compareIds(a.definitionName, b.definitionName) || a.definitionVersion - b.definitionVersion);
    });
  }

  activity(query: ActivityQuery): Promise<ActivityBucket[]> {
    return this.#call(() => {
      const { buckets, index } = checkActivityQuery(query);
      const { fromMs, toMs } = query;
      for (const kept of this.#all()) {
        const createdAtMs = createdAtMsOf(kept);
        if (createdAtMs >= fromMs && createdAtMs < toMs) (buckets[index(createdAtMs)] as ActivityBucket).started++;
        const ended = endedAtMsOf(kept);
        const status = statusOf(kept);
        if (ended !== undefined && ended >= fromMs && ended < toMs && (status === "completed" || status === "compensated" || status === "failed")) {
          (buckets[index(ended)] as ActivityBucket)[status]++;
        }
      }
      return buckets;
    });
  }

  claimDue(request: ClaimRequest): Promise<ClaimedInstance[]> {
    return this.#call(() => {
      checkClaimRequest(request);
      if (request.limit === 0) return [];
      return this.#due.takeDue(request.definitions, request.nowMs, request.limit).map((slot) => {
        // The due index holds only sagas still going, never an archived one.
        const instance = this.#live.get(slot.id) as LiveInstance;
        instance.epoch++;
        instance.leaseOwner = request.workerId;
        instance.leaseExpiresAtMs = request.nowMs + request.leaseMs;
        this.#reindex(instance);
        const inbox = instance.inboxSeq > instance.inboxAppliedSeq ? structuredClone(instance.inbox.filter((m) => m.seq > instance.inboxAppliedSeq)) : [];
        return { record: toRecord(instance, false), inbox };
      });
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  commitTransitions(commits: readonly TransitionCommit[]): Promise<CommitOutcome[]> {
    return this.writeBatch({ creates: [], commits }).then((result) => result.commits);
  }

  renewLeases(workerId: string, leases: readonly LeaseRef[], expiresAtMs: number, nowMs: number): Promise<boolean[]> {
    return this.#call(() =>
      leases.map((lease) => {
        const instance = this.#held(workerId, lease);
        if (instance === undefined || instance.leaseExpiresAtMs === null || instance.leaseExpiresAtMs < nowMs) return false;
        instance.leaseExpiresAtMs = expiresAtMs;
        this.#reindex(instance);
        return true;
      }),
    );
  }

  moveInstance(request: MoveInstanceRequest): Promise<MoveOutcome> {
    return this.#call((): MoveOutcome => {
      checkCommitStateId(request.sagaId, request.state.id);
      const instance = this.#liveInstance(request.sagaId);
      if (instance === undefined) return { moved: false, reason: "not_found" };
      if (instance.leaseOwner !== null && instance.leaseExpiresAtMs !== null && instance.leaseExpiresAtMs >= request.nowMs) return { moved: false, reason: "leased" };
      if (instance.epoch !== request.epoch) {
        // Taken out of the archive to be moved (it holds no lease): back into it.
        if (this.#belongsInArchive(instance)) this.#settleEnded([instance]);
        return { moved: false, reason: "changed" };
      }
      const { state } = request;
      instance.state = state;
      instance.epoch++;
      instance.leaseOwner = null;
      instance.leaseExpiresAtMs = null;
      instance.wakeAtMs = isTerminal(state.status) ? null : state.wakeAtMs;
      // The due index keeps instances apart by definition version: a new version, a new place in it.
      instance.slot.heap?.remove(instance.slot);
      instance.slot = newSlot(state.id, keyOf(state));
      appendHistory(instance, request.history, null);
      this.#reindex(instance);
      if (endsForGood(state)) this.#settleEnded([instance]);
      return { moved: true };
    });
  }

  releaseLease(workerId: string, lease: LeaseRef): Promise<boolean> {
    return this.#call(() => {
      const instance = this.#held(workerId, lease);
      if (instance === undefined) return false;
      instance.leaseOwner = null;
      instance.leaseExpiresAtMs = null;
      this.#reindex(instance);
      return true;
    });
  }

  deliver(sagaId: string, message: InboxPayload, nowMs: number): Promise<DeliverOutcome> {
    return this.#call((): DeliverOutcome => {
      const instance = this.#live.get(sagaId);
      if (instance === undefined) {
        // Only a failed saga reopens, and archived ones are completed or compensated.
        const archived = this.#archive.get(sagaId);
        return archived === undefined ? { accepted: false, reason: "not_found" } : { accepted: false, reason: "terminal", status: archived.state.status };
      }
      const reopens = instance.state.status === "failed" && isOperatorRepair(message);
      if (isTerminal(instance.state.status) && !reopens) return { accepted: false, reason: "terminal", status: instance.state.status };
      const seq = instance.inboxSeq + 1;
      instance.inboxSeq = seq;
      if (instance.inbox === NO_MESSAGES) instance.inbox = [];
      instance.inbox.push({ seq, event: structuredClone(message), receivedAtMs: nowMs });
      instance.wakeAtMs = Math.min(instance.wakeAtMs ?? nowMs, nowMs);
      this.#reindex(instance);
      return { accepted: true, seq };
    });
  }

  /** The earliest time a claim could take something: an unleased instance's wake-up, or the first millisecond after a lease expires. */
  nextWakeAtMs(definitions: readonly string[]): Promise<number | null> {
    return this.#call(() => this.#due.nextAt(definitions));
  }

  saveDefinition(definition: Omit<StoredDefinition, "createdAtMs">, nowMs: number): Promise<SaveDefinitionOutcome> {
    return this.#call((): SaveDefinitionOutcome => {
      const checked = checkDefinitionToSave(definition, nowMs);
      const key = definitionKey(checked.name, checked.version);
      const kept = this.#definitions.get(key);
      if (kept !== undefined) return refusedSave(toStoredDefinition(kept), checked.hash);
      const row: DefinitionRow = {
        name: checked.name,
        version: checked.version,
        hash: checked.hash,
        document_json: checked.documentJson,
        created_at_ms: checked.createdAtMs,
      };
      this.#definitions.set(key, row);
      return { saved: true, definition: toStoredDefinition(row) };
    });
  }

  listDefinitions(): Promise<StoredDefinition[]> {
    return this.#call(() =>
      [...this.#definitions.values()].sort((a, b) => compareIds(a.name, b.name) || a.version - b.version).map((row) => toStoredDefinition(row)),
    );
  }

  getDefinition(name: string, version: number): Promise<StoredDefinition | null> {
    return this.#call(() => {
      checkDefinitionKey(name, version);
      const row = this.#definitions.get(definitionKey(name, version));
      return row === undefined ? null : toStoredDefinition(row);
    });
  }

  /** Instances the due index holds (non-terminal ones with a wake-up), for tests. */
  get dueIndexSize(): number {
    return this.#due.size;
  }

  /** Later calls reject with `StoreUnavailableError`; the data is dropped. Safe to call twice. */
  close(): Promise<void> {
    this.#closed = true;
    this.#live = new InPlaceMap<LiveInstance>();
    this.#archive.clear();
    this.#idsByKey.clear();
    this.#definitions.clear();
    return Promise.resolve();
  }

  /** One create; `created` collects what it added, for a batch that must undo it, and `ended` what it added already ended. */
  #createOne(request: CreateInstanceRequest, created: LiveInstance[] | undefined, ended: LiveInstance[]): CreateOutcome {
    const { state, lease } = request;
    const key = state.idempotencyKey;
    if (key !== null) {
      const liveId = this.#idsByKey.get(key);
      // By reference from the live table (as the runtime's calls get states), fresh from the archive.
      const existing = liveId === undefined ? this.#archive.getByKey(key) : this.#live.get(liveId);
      if (existing !== undefined) return { ok: true, result: { created: false, record: toRecord(existing, false) } };
    }
    const idHash = hashString(state.id);
    if (this.#live.has(state.id) || this.#archive.has(state.id, idHash)) {
      return {
        ok: false,
        error: new InvalidArgumentError("state.id", `${JSON.stringify(state.id)} already names another instance; ids must be unique`),
      };
    }
    const instance = new LiveInstance(
      state,
      lease === undefined ? 0 : 1,
      lease?.owner ?? null,
      lease?.expiresAtMs ?? null,
      isTerminal(state.status) ? null : state.wakeAtMs,
      newSlot(state.id, keyOf(state)),
      idHash,
    );
    appendHistory(instance, request.history, lease === undefined ? null : { workerId: lease.owner, epoch: 1 });
    this.#live.set(state.id, instance);
    if (key !== null) this.#idsByKey.set(key, state.id);
    this.#reindex(instance);
    created?.push(instance);
    if (endsForGood(state)) ended.push(instance);
    return { ok: true, result: { created: true, record: toRecord(instance, false) } };
  }

  /** Takes a live instance out of the live table, its key and its place in the due index. */
  #forgetLive(instance: LiveInstance): void {
    const { id, idempotencyKey: key } = instance.state;
    this.#live.delete(id);
    if (key !== null && this.#idsByKey.get(key) === id) this.#idsByKey.delete(key);
    instance.slot.heap?.remove(instance.slot);
  }

  /** The instance by id, an archived one taken out of the archive and made live again: for the writes that may change it. */
  #liveInstance(id: string): LiveInstance | undefined {
    const live = this.#live.get(id);
    if (live !== undefined) return live;
    const instance = this.#archive.take(id);
    if (instance === undefined) return undefined;
    this.#live.set(id, instance);
    const key = instance.state.idempotencyKey;
    if (key !== null) this.#idsByKey.set(key, id);
    return instance;
  }

  /**
   * Whether `instance`, live and ended for good, belongs back in the archive: it was taken out
   * for a write that did not change that. With `keepEnded: 0` nothing was archived, so nothing
   * is taken out: a saga live then is one that could not be archived, and stays.
   */
  #belongsInArchive(instance: LiveInstance): boolean {
    return this.#keepEnded !== 0 && endsForGood(instance.state);
  }

  /** Every saga, live ones first. */
  *#all(): IterableIterator<Kept> {
    yield* this.#live.values();
    yield* this.#archive.summaries();
  }

  /** A record the caller owns: an archived saga read into fresh objects, a live one's state deep-copied. */
  #copiedRecord(kept: Kept): InstanceRecord {
    return kept instanceof ArchivedSaga ? toRecord(this.#archive.read(kept), false) : toRecord(kept, true);
  }

  /** Puts back what the commits of a failed batch changed, newest first. */
  #undo(undo: UndoLog): void {
    for (let at = undo.length - UNDO_FIELDS; at >= 0; at -= UNDO_FIELDS) {
      const instance = undo[at] as LiveInstance;
      instance.state = undo[at + 1] as SagaState;
      instance.wakeAtMs = undo[at + 2] as number | null;
      instance.leaseOwner = undo[at + 3] as string | null;
      instance.leaseExpiresAtMs = undo[at + 4] as number | null;
      instance.inbox = undo[at + 5] as InboxMessage[];
      instance.inboxAppliedSeq = undo[at + 6] as number;
      const historyLength = undo[at + 7] as number;
      instance.history.length = historyLength;
      instance.writers.length = historyLength;
      this.#reindex(instance);
    }
  }

  /**
   * Sagas that just ended for good, their batch written: each is archived (or, with `keepEnded:
   * 0`, forgotten), and with `keepEnded` the ones archived longest ago beyond it are forgotten.
   * One that cannot be archived (it still holds a lease or messages) stays live.
   */
  #settleEnded(ended: readonly LiveInstance[]): void {
    const keep = this.#keepEnded;
    for (const instance of ended) {
      // Listed twice by one batch, or moved since: only the live instance itself is settled.
      if (this.#live.get(instance.state.id) !== instance) continue;
      if (keep === 0) {
        this.#forgetLive(instance);
        continue;
      }
      if (!this.#archive.add(instance, instance.idHash)) continue;
      this.#forgetLive(instance);
      if (keep !== null) while (this.#archive.size > keep) this.#archive.dropOldest();
    }
  }

  #reindex(instance: StoredInstance): void {
    this.#due.place(instance.slot, instance);
  }

  #commitOne(commit: TransitionCommit, undo: UndoLog, ended: LiveInstance[]): CommitOutcome {
    const instance = this.#liveInstance(commit.sagaId);
    if (
      instance === undefined ||
      instance.epoch !== commit.epoch ||
      instance.leaseOwner !== commit.workerId ||
      instance.leaseExpiresAtMs === null ||
      instance.leaseExpiresAtMs < commit.nowMs
    ) {
      if (instance !== undefined) {
        logUndo(undo, instance);
        appendHistory(instance, [rejectedWriteEntry(commit, instance.epoch)], { workerId: commit.workerId, epoch: commit.epoch });
        // A late writer's commit to a saga that ended for good: archived again once it is recorded.
        if (this.#belongsInArchive(instance)) ended.push(instance);
      }
      return { ok: false, reason: "fenced" };
    }
    checkCommitInboxSeq(commit.sagaId, commit.inboxSeq, instance.inboxSeq, instance.inboxAppliedSeq);
    if (instance.inboxSeq > commit.inboxSeq) {
      return { ok: false, reason: "inbox_changed", inbox: structuredClone(instance.inbox.filter((m) => m.seq > commit.inboxSeq)) };
    }
    logUndo(undo, instance);
    const { state } = commit;
    const terminal = isTerminal(state.status);
    if (endsForGood(state) && !endsForGood(instance.state)) ended.push(instance);
    instance.state = state;
    instance.wakeAtMs = terminal ? null : state.wakeAtMs;
    instance.leaseOwner = commit.lease === "release" ? null : commit.workerId;
    instance.leaseExpiresAtMs = commit.lease === "release" ? null : commit.lease.expiresAtMs;
    if (commit.inboxSeq > instance.inboxAppliedSeq) instance.inbox = instance.inbox.filter((m) => m.seq > commit.inboxSeq);
    instance.inboxAppliedSeq = commit.inboxSeq;
    appendHistory(instance, commit.history, { workerId: commit.workerId, epoch: commit.epoch });
    this.#reindex(instance);
    return COMMITTED;
  }

  #held(workerId: string, lease: LeaseRef): LiveInstance | undefined {
    // An archived saga holds no lease.
    const instance = this.#live.get(lease.sagaId);
    return instance !== undefined && instance.epoch === lease.epoch && instance.leaseOwner === workerId ? instance : undefined;
  }

  /** Runs synchronously, like the real adapters' drivers; a throw becomes the promise's rejection. */
  #call<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.#closed) throw new StoreUnavailableError("the memory store was closed; create a new one");
      resolve(work());
    });
  }
}

/**
 * Creates an empty in-memory store; `init()` is a no-op for it. Throws `InvalidArgumentError` for
 * a `keepEnded` that is not a whole number ≥ 0.
 *
 * @example
 * // A development server that runs sagas for days: keep the last 10,000 that ended well.
 * const store = createMemoryStore({ keepEnded: 10_000 });
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}


/** The last definition key made, by `keyOf`. */
let lastKey = { name: "", version: Number.NaN, key: "" };

/**
 * The due index's key for the instance's definition. Nearly every instance a store creates is of
 * the definition the one before was: the key is made (a new string, hashed again by each `Map` it
 * is looked up in) only when the definition changes.
 */
function keyOf(state: SagaState): string {
  const { definitionName: name, definitionVersion: version } = state;
  if (name !== lastKey.name || version !== lastKey.version) lastKey = { name, version, key: definitionKey(name, version) };
  return lastKey.key;
}

/** The columns the listings and counts read, of either kind of kept saga. */
function idOf(kept: Kept): string {
  return kept instanceof ArchivedSaga ? kept.id : kept.state.id;
}

function statusOf(kept: Kept): SagaStatus {
  return kept instanceof ArchivedSaga ? kept.status : kept.state.status;
}

function definitionNameOf(kept: Kept): string {
  return kept instanceof ArchivedSaga ? kept.definitionName : kept.state.definitionName;
}

function createdAtMsOf(kept: Kept): number {
  return kept instanceof ArchivedSaga ? kept.createdAtMs : kept.state.createdAtMs;
}

function endedAtMsOf(kept: Kept): number | undefined {
  return kept instanceof ArchivedSaga ? kept.endedAtMs : kept.state.endedAtMs;
}

/** The instance as a record; its state deep-copied for the read calls, by reference for the runtime's. */
function toRecord(instance: StoredInstance, copy: boolean): InstanceRecord {
  return {
    state: copy ? structuredClone(instance.state) : instance.state,
    epoch: instance.epoch,
    leaseOwner: instance.leaseOwner,
    leaseExpiresAtMs: instance.leaseExpiresAtMs,
    inboxSeq: instance.inboxSeq,
    inboxAppliedSeq: instance.inboxAppliedSeq,
  };
}

/** Records what a commit is about to change in `instance` (`UNDO_FIELDS` values). */
function logUndo(undo: UndoLog, instance: StoredInstance): void {
  undo.push(instance, instance.state, instance.wakeAtMs, instance.leaseOwner, instance.leaseExpiresAtMs, instance.inbox, instance.inboxAppliedSeq, instance.history.length);
}

/** Appends entries by reference, recording their writer (reusing the last writer object when it is the same); `getHistory` copies. */
function appendHistory(instance: StoredInstance, entries: readonly HistoryEntry[], writer: Writer | null): void {
  const last = instance.writers[instance.writers.length - 1];
  const shared = writer !== null && last != null && last.workerId === writer.workerId && last.epoch === writer.epoch ? last : writer;
  for (const entry of entries) {
    instance.history.push(entry);
    instance.writers.push(shared);
  }
}

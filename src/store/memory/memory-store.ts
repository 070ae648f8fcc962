import type { HistoryEntry, StoredHistoryEntry } from "../../domain/history.js";
import type { SagaState } from "../../domain/state.js";
import { isTerminal, type SagaStatus } from "../../domain/status.js";
import { InvalidArgumentError, StoreUnavailableError } from "../../errors.js";
import { compareIds, encodeListCursor } from "../list-cursor.js";
import { rejectedWriteEntry } from "../rejected-write.js";
import { checkClaimRequest, checkCommitInboxSeq, checkCommitStateId, checkListQuery, zeroCounts } from "../request-checks.js";
import type {
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
  TransitionCommit,
} from "../saga-store.js";
import { definitionKey } from "../saga-store.js";

/** One instance as the memory store holds it: the same columns the SQL adapters keep. */
interface StoredInstance {
  state: SagaState;
  epoch: number;
  leaseOwner: string | null;
  leaseExpiresAtMs: number | null;
  inboxSeq: number;
  inboxAppliedSeq: number;
  /** The scheduling time, which a delivery pulls forward without touching the engine's `state.wakeAtMs`. */
  wakeAtMs: number | null;
  history: StoredHistoryEntry[];
  inbox: InboxMessage[];
}

/** What a batch commit must put back if a later item of the batch throws. */
interface Undo {
  instance: StoredInstance;
  before: StoredInstance;
  historyLength: number;
}

/**
 * A `SagaStore` in process memory, for tests and for measuring the engine without I/O. Nothing
 * survives the process. Everything is deep-copied on the way in and out, so a caller mutating a
 * state it passed or received can never change what is stored (as with a real database).
 */
export class MemoryStore implements SagaStore {
  readonly #instances = new Map<string, StoredInstance>();
  readonly #idsByKey = new Map<string, string>();
  #closed = false;

  init(): Promise<void> {
    return this.#call(() => undefined);
  }

  createInstance(request: CreateInstanceRequest): Promise<CreateInstanceResult> {
    return this.#call((): CreateInstanceResult => {
      const key = request.state.idempotencyKey;
      const existingId = key === null ? undefined : this.#idsByKey.get(key);
      const existing = existingId === undefined ? undefined : this.#instances.get(existingId);
      if (existing !== undefined) return { created: false, record: toRecord(existing) };
      if (this.#instances.has(request.state.id)) {
        throw new InvalidArgumentError("state.id", `${JSON.stringify(request.state.id)} already names another instance; ids must be unique`);
      }
      const state = structuredClone(request.state);
      const lease = request.lease;
      const instance: StoredInstance = {
        state,
        epoch: lease === undefined ? 0 : 1,
        leaseOwner: lease?.owner ?? null,
        leaseExpiresAtMs: lease?.expiresAtMs ?? null,
        inboxSeq: 0,
        inboxAppliedSeq: 0,
        wakeAtMs: isTerminal(state.status) ? null : state.wakeAtMs,
        history: [],
        inbox: [],
      };
      appendHistory(instance, request.history, lease === undefined ? null : { workerId: lease.owner, epoch: 1 });
      this.#instances.set(state.id, instance);
      if (key !== null) this.#idsByKey.set(key, state.id);
      return { created: true, record: toRecord(instance) };
    });
  }

  getInstance(sagaId: string): Promise<InstanceRecord | null> {
    return this.#call(() => {
      const instance = this.#instances.get(sagaId);
      return instance === undefined ? null : toRecord(instance);
    });
  }

  findByIdempotencyKey(key: string): Promise<InstanceRecord | null> {
    return this.#call(() => {
      const id = this.#idsByKey.get(key);
      const instance = id === undefined ? undefined : this.#instances.get(id);
      return instance === undefined ? null : toRecord(instance);
    });
  }

  getHistory(sagaId: string): Promise<StoredHistoryEntry[]> {
    return this.#call(() => structuredClone(this.#instances.get(sagaId)?.history ?? []));
  }

  listInstances(query: ListQuery): Promise<ListPage> {
    return this.#call((): ListPage => {
      const checked = checkListQuery(query);
      const { after } = checked;
      const matching = [...this.#instances.values()]
        .map((instance) => instance.state)
        .filter(
          (state) =>
            (checked.statuses === null || checked.statuses.includes(state.status)) &&
            (checked.definitionName === null || state.definitionName === checked.definitionName) &&
            (checked.createdFromMs === null || state.createdAtMs >= checked.createdFromMs) &&
            (checked.createdToMs === null || state.createdAtMs < checked.createdToMs) &&
            (after === null || state.createdAtMs < after.createdAtMs || (state.createdAtMs === after.createdAtMs && compareIds(state.id, after.id) < 0)),
        )
        .sort((a, b) => b.createdAtMs - a.createdAtMs || compareIds(b.id, a.id));
      const items = matching.slice(0, checked.limit).map((state) => structuredClone(state));
      const last = items[items.length - 1];
      const more = matching.length > checked.limit && last !== undefined;
      return { items, nextCursor: more ? encodeListCursor({ createdAtMs: last.createdAtMs, id: last.id }) : null };
    });
  }

  countByStatus(): Promise<Record<SagaStatus, number>> {
    return this.#call(() => {
      const counts = zeroCounts();
      for (const instance of this.#instances.values()) counts[instance.state.status]++;
      return counts;
    });
  }

  claimDue(request: ClaimRequest): Promise<ClaimedInstance[]> {
    return this.#call(() => {
      checkClaimRequest(request);
      const due = [...this.#instances.values()]
        .filter(
          (instance) =>
            instance.wakeAtMs !== null &&
            instance.wakeAtMs <= request.nowMs &&
            !isTerminal(instance.state.status) &&
            request.definitions.includes(keyOf(instance.state)) &&
            (instance.leaseOwner === null || (instance.leaseExpiresAtMs ?? 0) < request.nowMs),
        )
        .sort((a, b) => (a.wakeAtMs ?? 0) - (b.wakeAtMs ?? 0) || compareIds(a.state.id, b.state.id))
        .slice(0, request.limit);
      return due.map((instance) => {
        instance.epoch++;
        instance.leaseOwner = request.workerId;
        instance.leaseExpiresAtMs = request.nowMs + request.leaseMs;
        return { record: toRecord(instance), inbox: structuredClone(instance.inbox.filter((m) => m.seq > instance.inboxAppliedSeq)) };
      });
    });
  }

  /** Throws `InvalidArgumentError` (and writes none of the batch) for a commit that names another instance's state or an impossible `inboxSeq`. */
  commitTransitions(commits: readonly TransitionCommit[]): Promise<CommitOutcome[]> {
    return this.#call(() => {
      for (const commit of commits) checkCommitStateId(commit.sagaId, commit.state.id);
      const undo: Undo[] = [];
      try {
        return commits.map((commit) => this.#commitOne(commit, undo));
      } catch (error) {
        // Same all-or-nothing as the SQL adapters' single transaction.
        for (const { instance, before, historyLength } of undo.reverse()) {
          Object.assign(instance, before);
          instance.history.length = historyLength;
        }
        throw error;
      }
    });
  }

  renewLeases(workerId: string, leases: readonly LeaseRef[], expiresAtMs: number): Promise<boolean[]> {
    return this.#call(() =>
      leases.map((lease) => {
        const instance = this.#held(workerId, lease);
        if (instance !== undefined) instance.leaseExpiresAtMs = expiresAtMs;
        return instance !== undefined;
      }),
    );
  }

  releaseLease(workerId: string, lease: LeaseRef): Promise<boolean> {
    return this.#call(() => {
      const instance = this.#held(workerId, lease);
      if (instance === undefined) return false;
      instance.leaseOwner = null;
      instance.leaseExpiresAtMs = null;
      return true;
    });
  }

  deliver(sagaId: string, message: InboxPayload, nowMs: number): Promise<DeliverOutcome> {
    return this.#call((): DeliverOutcome => {
      const instance = this.#instances.get(sagaId);
      if (instance === undefined) return { accepted: false, reason: "not_found" };
      if (isTerminal(instance.state.status)) return { accepted: false, reason: "terminal", status: instance.state.status };
      const seq = instance.inboxSeq + 1;
      instance.inboxSeq = seq;
      instance.inbox.push({ seq, event: structuredClone(message), receivedAtMs: nowMs });
      instance.wakeAtMs = Math.min(instance.wakeAtMs ?? nowMs, nowMs);
      return { accepted: true, seq };
    });
  }

  /** The earliest time a claim could take something: an unleased instance's wake-up, or the first millisecond after a lease expires. */
  nextWakeAtMs(definitions: readonly string[]): Promise<number | null> {
    return this.#call(() => {
      let next: number | null = null;
      for (const instance of this.#instances.values()) {
        if (instance.wakeAtMs === null || isTerminal(instance.state.status) || !definitions.includes(keyOf(instance.state))) continue;
        const at = instance.leaseOwner === null ? instance.wakeAtMs : Math.max(instance.wakeAtMs, (instance.leaseExpiresAtMs ?? 0) + 1);
        if (next === null || at < next) next = at;
      }
      return next;
    });
  }

  /** Later calls reject with `StoreUnavailableError`; the data is dropped. Safe to call twice. */
  close(): Promise<void> {
    this.#closed = true;
    this.#instances.clear();
    this.#idsByKey.clear();
    return Promise.resolve();
  }

  #commitOne(commit: TransitionCommit, undo: Undo[]): CommitOutcome {
    const instance = this.#instances.get(commit.sagaId);
    if (
      instance === undefined ||
      instance.epoch !== commit.epoch ||
      instance.leaseOwner !== commit.workerId ||
      instance.leaseExpiresAtMs === null ||
      instance.leaseExpiresAtMs < commit.nowMs
    ) {
      if (instance !== undefined) {
        undo.push({ instance, before: { ...instance }, historyLength: instance.history.length });
        appendHistory(instance, [rejectedWriteEntry(commit, instance.epoch)], { workerId: commit.workerId, epoch: commit.epoch });
      }
      return { ok: false, reason: "fenced" };
    }
    checkCommitInboxSeq(commit.sagaId, commit.inboxSeq, instance.inboxSeq, instance.inboxAppliedSeq);
    if (instance.inboxSeq > commit.inboxSeq) {
      return { ok: false, reason: "inbox_changed", inbox: structuredClone(instance.inbox.filter((m) => m.seq > commit.inboxSeq)) };
    }
    undo.push({ instance, before: { ...instance }, historyLength: instance.history.length });
    const state = structuredClone(commit.state);
    const terminal = isTerminal(state.status);
    instance.state = state;
    instance.wakeAtMs = terminal ? null : state.wakeAtMs;
    instance.leaseOwner = commit.lease === "release" ? null : commit.workerId;
    instance.leaseExpiresAtMs = commit.lease === "release" ? null : commit.lease.expiresAtMs;
    instance.inboxAppliedSeq = commit.inboxSeq;
    instance.inbox = instance.inbox.filter((m) => m.seq > commit.inboxSeq);
    appendHistory(instance, commit.history, { workerId: commit.workerId, epoch: commit.epoch });
    return { ok: true };
  }

  #held(workerId: string, lease: LeaseRef): StoredInstance | undefined {
    const instance = this.#instances.get(lease.sagaId);
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

/** Creates an empty in-memory store; `init()` is a no-op for it. */
export function createMemoryStore(): MemoryStore {
  return new MemoryStore();
}

function keyOf(state: SagaState): string {
  return definitionKey(state.definitionName, state.definitionVersion);
}

function toRecord(instance: StoredInstance): InstanceRecord {
  return {
    state: structuredClone(instance.state),
    epoch: instance.epoch,
    leaseOwner: instance.leaseOwner,
    leaseExpiresAtMs: instance.leaseExpiresAtMs,
    inboxSeq: instance.inboxSeq,
    inboxAppliedSeq: instance.inboxAppliedSeq,
  };
}

function appendHistory(instance: StoredInstance, entries: readonly HistoryEntry[], writer: { workerId: string; epoch: number } | null): void {
  for (const entry of entries) {
    instance.history.push({ ...structuredClone(entry), seq: instance.history.length + 1, ...(writer ?? {}) });
  }
}

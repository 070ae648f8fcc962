import type { CommitOutcome, CreateInstanceRequest, CreateOutcome, SagaStore, TransitionCommit, WriteBatchResult } from "../store/saga-store.js";

/**
 * The smallest batch a queue is split into when several batches may be written at once: 64
 * ready transitions go out as two batches on two connections, written by the server in parallel.
 * Measured on PostgreSQL at 64 in flight on two cores (alternating runs): two batches of 32 took
 * about 1.2× the sagas per second of four of 16, and 1.1× one of 64; smaller batches cost the
 * client more per transition (a statement, its parameters and a socket write each) than the
 * parallelism gave back. (Four of 16 had been best while the engine cost four times what it does.)
 */
const MIN_SHARED_BATCH = 32;

/** What the committer needs of a store: the batch write, how many batches it may run at once, and how large they may be. */
export type CommitTarget = Pick<SagaStore, "writeBatch" | "concurrentWrites" | "maxBatchSize">;

/** Told of a commit's outcome as soon as its batch settles, before its caller is. */
export interface CommitWatcher {
  /** `outcome` is undefined when the batch's write failed (the caller's promise rejects). */
  settled(commit: TransitionCommit, outcome: CommitOutcome | undefined): void;
}

/**
 * Told of a commit's outcome once its batch settles, instead of a promise: a saga driver is its
 * own callback, so a transition costs no promise, executor closure or suspended frame. Neither
 * method may throw (a throw is a bug: the committer settles the rest of the batch, then reports it
 * to its `onCallbackError`).
 */
export interface CommitCallback {
  committed(outcome: CommitOutcome): void;
  /** The batch's write failed or its outcome is unknown: the commit may or may not be durable. */
  commitFailed(error: unknown): void;
}

interface PendingCommit {
  commit: TransitionCommit;
  watcher: CommitWatcher | undefined;
  callback: CommitCallback;
}

interface PendingCreate {
  request: CreateInstanceRequest;
  resolve: (outcome: CreateOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: new instances and transitions submitted while a batch is being written wait and
 * go together in the next one (`SagaStore.writeBatch`), so many sagas share one transaction (one
 * fsync). A caller's promise resolves only after its batch committed: nothing is reported before
 * it is durable. Up to `store.concurrentWrites` batches (default 1) are written at a time; the
 * next is formed from everything that arrived meanwhile, so batches grow with load instead of
 * transactions multiplying.
 */
export class GroupCommitter {
  readonly #store: CommitTarget;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #commits: PendingCommit[] = [];
  #creates: PendingCreate[] = [];
  #inFlight = 0;
  #scheduled = false;
  readonly #onCallbackError: ((error: unknown) => void) | undefined;

  /**
   * `onCallbackError` hears of a `CommitCallback` that threw (a bug: the callbacks must not), after
   * the rest of its batch was settled; without it, the throw is raised where nothing catches it.
   */
  constructor(store: CommitTarget, { maxBatch = 1024, onCallbackError }: { maxBatch?: number; onCallbackError?: (error: unknown) => void } = {}) {
    this.#store = store;
    this.#onCallbackError = onCallbackError;
    const wanted = store.maxBatchSize;
    this.#maxBatch = wanted !== undefined && Number.isInteger(wanted) && wanted >= 1 ? Math.min(maxBatch, wanted) : maxBatch;
    const concurrent = store.concurrentWrites ?? 1;
    this.#maxInFlight = Number.isInteger(concurrent) && concurrent > 1 ? concurrent : 1;
  }

  /**
   * Commits one transition with the next batch. A `watcher` hears of the outcome first, in the
   * same turn: the worker keeps its lease bookkeeping that way, without a promise of its own per
   * transition.
   */
  submit(commit: TransitionCommit, watcher?: CommitWatcher): Promise<CommitOutcome> {
    return new Promise<CommitOutcome>((resolve, reject) => this.enqueue(commit, watcher, { committed: resolve, commitFailed: reject }));
  }

  /** `submit` with a callback for the outcome, called in the turn the batch settles (after the watcher). */
  enqueue(commit: TransitionCommit, watcher: CommitWatcher | undefined, callback: CommitCallback): void {
    this.#commits.push({ commit, watcher, callback });
    this.#schedule();
  }

  /** Creates one instance with the next batch. */
  create(request: CreateInstanceRequest): Promise<CreateOutcome> {
    return new Promise<CreateOutcome>((resolve, reject) => {
      this.#creates.push({ request, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    // setImmediate lets every driver and start that got ready in this turn of the event loop join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight || (this.#commits.length === 0 && this.#creates.length === 0)) return;
    // With room for several batches, a long queue is shared among them, so they are written in
    // parallel; a short one goes in one batch (each transaction has a fixed cost).
    const free = this.#maxInFlight - this.#inFlight;
    const size = Math.min(this.#maxBatch, Math.max(MIN_SHARED_BATCH, Math.ceil((this.#commits.length + this.#creates.length) / free)));
    this.#inFlight++;
    const creates = this.#creates.splice(0, size);
    const commits = this.#commits.splice(0, size - creates.length);
    if (this.#commits.length > 0 || this.#creates.length > 0) this.#schedule();
    let result: WriteBatchResult | undefined;
    let failure: unknown;
    try {
      result = await this.#store.writeBatch({ creates: requestsOf(creates), commits: commitsOf(commits) });
    } catch (error) {
      failure = error;
    }
    this.#inFlight--;
    if (this.#commits.length > 0 || this.#creates.length > 0) this.#schedule();
    // Settled outside the write's try: a callback's throw must not settle the batch twice.
    if (result === undefined) {
      for (const pending of creates) pending.reject(failure);
      settleCommits(commits, undefined, failure, this.#onCallbackError);
    } else {
      settle(creates, result.creates, "creates");
      settleCommits(commits, result.commits, undefined, this.#onCallbackError);
    }
  }
}

/** The batch's requests, in a loop rather than `map` with a closure: a batch holds hundreds at load. */
function requestsOf(pending: readonly PendingCreate[]): CreateInstanceRequest[] {
  const requests = new Array<CreateInstanceRequest>(pending.length);
  for (let i = 0; i < pending.length; i++) requests[i] = (pending[i] as PendingCreate).request;
  return requests;
}

function commitsOf(pending: readonly PendingCommit[]): TransitionCommit[] {
  const commits = new Array<TransitionCommit>(pending.length);
  for (let i = 0; i < pending.length; i++) commits[i] = (pending[i] as PendingCommit).commit;
  return commits;
}

/**
 * Every commit of a batch hears of its outcome (`outcomes` undefined: the write failed with
 * `failure`), watchers first. Callbacks run synchronously, each driver going on to its next step;
 * one that throws (a bug) does not keep the rest of the batch from their outcomes: each throw goes
 * to `onCallbackError`, or without one the first is raised once all have them.
 */
function settleCommits(batch: readonly PendingCommit[], outcomes: readonly CommitOutcome[] | undefined, failure: unknown, onCallbackError: ((error: unknown) => void) | undefined): void {
  for (let i = 0; i < batch.length; i++) {
    const pending = batch[i] as PendingCommit;
    pending.watcher?.settled(pending.commit, outcomes?.[i]);
  }
  let thrown: { error: unknown } | undefined;
  for (let i = 0; i < batch.length; i++) {
    const { callback } = batch[i] as PendingCommit;
    const outcome = outcomes?.[i];
    try {
      if (outcome !== undefined) callback.committed(outcome);
      else callback.commitFailed(outcomes === undefined ? failure : new Error(`store returned ${outcomes.length} outcomes for ${batch.length} commits`));
    } catch (error) {
      thrown ??= reportOrKeep(error, onCallbackError);
    }
  }
  if (thrown !== undefined) throw thrown.error;
}

/** Hands a callback's throw to `onCallbackError`; returns it (or the handler's own throw) to raise when there is none or it failed. */
function reportOrKeep(error: unknown, onCallbackError: ((error: unknown) => void) | undefined): { error: unknown } | undefined {
  if (onCallbackError === undefined) return { error };
  try {
    onCallbackError(error);
    return undefined;
  } catch (reportFailure) {
    return { error: reportFailure };
  }
}

function settle<T>(batch: ReadonlyArray<{ resolve: (outcome: T) => void; reject: (error: unknown) => void }>, outcomes: readonly T[], what: string): void {
  batch.forEach((pending, index) => {
    const outcome = outcomes[index];
    if (outcome === undefined) pending.reject(new Error(`store returned ${outcomes.length} outcomes for ${batch.length} ${what}`));
    else pending.resolve(outcome);
  });
}

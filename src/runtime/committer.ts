import type { CommitOutcome, SagaStore, TransitionCommit } from "../store/saga-store.js";

interface Pending {
  commit: TransitionCommit;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: transitions submitted while a batch is being written wait and go together
 * in the next one, so many sagas share one transaction (one fsync). A caller's promise
 * resolves only after its batch committed: nothing is reported before it is durable.
 */
export class GroupCommitter {
  readonly #store: SagaStore;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #flushing = false;
  #scheduled = false;

  constructor(store: SagaStore, maxBatch = 256) {
    this.#store = store;
    this.#maxBatch = maxBatch;
  }

  submit(commit: TransitionCommit): Promise<CommitOutcome> {
    return new Promise<CommitOutcome>((resolve, reject) => {
      this.#queue.push({ commit, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // setImmediate lets every driver that finished in this turn of the event loop join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = true;
    const batch = this.#queue.splice(0, this.#maxBatch);
    try {
      const outcomes = await this.#store.commitTransitions(batch.map((pending) => pending.commit));
      batch.forEach((pending, index) => {
        const outcome = outcomes[index];
        if (outcome === undefined) pending.reject(new Error(`store returned ${outcomes.length} outcomes for ${batch.length} commits`));
        else pending.resolve(outcome);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }
}

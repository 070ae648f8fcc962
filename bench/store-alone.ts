// The store alone: the writes of the success saga (its creation and three transitions), made by
// the engine once and replayed for every saga with a new id, through the same group committer as
// the runtime uses, with C sagas in flight. No engine, no driver, no step runs: what is left is
// what the store and group commit cost, so it bounds what Sagaflow can do on that store, and
// Sagaflow's own figure ÷ this one is how much of it the engine and runtime keep.
import { GroupCommitter, type CommitCallback } from "../src/runtime/committer.js";
import { copyState } from "../src/domain/copy-state.js";
import { decide } from "../src/engine/decide.js";
import { createInitialState } from "../src/engine/initial-state.js";
import { shapeOf } from "../src/runtime/plan-shape.js";
import type { SagaEvent } from "../src/domain/events.js";
import type { SagaState } from "../src/domain/state.js";
import type { CommitOutcome, CreateInstanceRequest, SagaStore, TransitionCommit } from "../src/store/saga-store.js";
import { measure, type Sample, type SagaLauncher, type Window } from "./measure.js";
import { benchSagas } from "./workload.js";

const WORKER = "bench-store-alone";
/** Leases far beyond any run, so that no write is fenced. */
const LEASE_MS = 3_600_000;

/** The success saga's four writes, made by the engine for a template id. */
export interface SuccessSagaWrites {
  create: CreateInstanceRequest;
  commits: TransitionCommit[];
}

export function successSagaWrites(nowMs: number, id = "template"): SuccessSagaWrites {
  const plan = benchSagas.success.plan;
  const initial = createInitialState(plan, { id, input: { n: 1 }, idempotencyKey: null, nowMs, definitionHash: shapeOf({ plan }) });
  const claimed = decide(plan, initial.state, { type: "claimed" }, nowMs);
  const create: CreateInstanceRequest = {
    state: claimed.state,
    history: [...initial.history, ...claimed.history],
    lease: { owner: WORKER, expiresAtMs: nowMs + LEASE_MS },
  };
  const outputs: Record<string, unknown> = { reserve: { reserved: 1 }, charge: { charged: 2 }, ship: { shipped: 3 } };
  const commits: TransitionCommit[] = [];
  let state: SagaState = claimed.state;
  for (const step of plan.steps) {
    const event: SagaEvent = { type: "action_succeeded", step: step.name, attempt: 1, output: outputs[step.name] as { [key: string]: number } };
    const decision = decide(plan, state, event, nowMs);
    state = decision.state;
    commits.push({
      sagaId: id,
      epoch: 1,
      workerId: WORKER,
      nowMs,
      state,
      history: decision.history,
      inboxSeq: 0,
      lease: decision.commands.length > 0 ? { expiresAtMs: nowMs + LEASE_MS } : "release",
    });
  }
  if (state.status !== "completed") throw new Error(`the store-alone template ended ${state.status}, expected completed`);
  return { create, commits };
}

/**
 * The template's state under another id, copied as the engine copies states: an object spread of
 * a state is several times slower (see src/domain/copy-state.ts), and would be charged to the store.
 */
function withId(state: SagaState, id: string): SagaState {
  const copy = copyState(state);
  copy.id = id;
  return copy;
}

/** Starts one replayed saga per launch: create, then each transition once the previous one is durable. */
function storeAloneLauncher(store: SagaStore, nowMs: number): SagaLauncher {
  const writes = successSagaWrites(nowMs);
  const committer = new GroupCommitter(store);
  return {
    launch(seq, done) {
      new Replay(`alone-${seq}`, writes, committer, done).start();
    },
  };
}

/**
 * One replayed saga, driven by the committer's callbacks as the runtime's saga drivers are: an
 * async function here would add a suspended frame and a promise per write, and their garbage,
 * which the row would charge to the store (when the replay stopped being one, the memory store
 * alone at C=512 went from 98–106k to 126–137k sagas/s in alternating runs, and from 7.3 to 4.5 KiB
 * allocated a saga).
 */
class Replay implements CommitCallback {
  readonly #id: string;
  readonly #writes: SuccessSagaWrites;
  readonly #committer: GroupCommitter;
  readonly #done: (error?: Error) => void;
  #next = 0;

  constructor(id: string, writes: SuccessSagaWrites, committer: GroupCommitter, done: (error?: Error) => void) {
    this.#id = id;
    this.#writes = writes;
    this.#committer = committer;
    this.#done = done;
  }

  start(): void {
    const { create } = this.#writes;
    this.#committer.create({ state: withId(create.state, this.#id), history: create.history, lease: create.lease }).then(
      (created) => (created.ok ? this.#submitNext() : this.#done(asError(created.error))),
      (error: unknown) => this.#done(asError(error)),
    );
  }

  committed(outcome: CommitOutcome): void {
    if (outcome.ok) this.#submitNext();
    else this.#done(new Error(`store-alone commit of ${this.#id} was refused: ${outcome.reason}`));
  }

  commitFailed(error: unknown): void {
    this.#done(asError(error));
  }

  #submitNext(): void {
    const commit = this.#writes.commits[this.#next++];
    if (commit === undefined) {
      this.#done();
      return;
    }
    this.#committer.enqueue(
      {
        sagaId: this.#id,
        epoch: commit.epoch,
        workerId: commit.workerId,
        nowMs: commit.nowMs,
        state: withId(commit.state, this.#id),
        history: commit.history,
        inboxSeq: commit.inboxSeq,
        lease: commit.lease,
      },
      undefined,
      this,
    );
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Sagas per second the store takes with `concurrency` replayed sagas in flight, one sample per window. */
export async function measureStoreAlone(store: SagaStore, concurrency: number, window: Window): Promise<Sample[]> {
  const { samples } = await measure({ launcher: storeAloneLauncher(store, Date.now()), concurrency, window });
  return samples;
}

// The runtime alone: the orchestrator (engine, saga driver, worker, group commit, notices) over a
// store that keeps nothing and answers every write at once, driven by the same closed loop as
// every row. What it measures is what the runtime costs with no store at all, so it bounds the
// in-memory row from the runtime's side, as the store alone and the engine alone do from theirs:
// no store, however cheap, can take the in-memory row past it. Beside it, the same loop over the
// memory store forgetting each saga as it ends: the in-memory row but for the sagas it keeps.
import type { StoredHistoryEntry } from "../src/domain/history.js";
import type { SagaStatus } from "../src/domain/status.js";
import { createMemoryStore } from "../src/store/memory/index.js";
import { zeroCounts } from "../src/store/request-checks.js";
import type {
  ActivityBucket,
  ClaimedInstance,
  CreateInstanceRequest,
  CreateInstanceResult,
  CreateOutcome,
  DeliverOutcome,
  InstanceRecord,
  ListPage,
  MoveOutcome,
  SagaStore,
  SaveDefinitionOutcome,
  StoredDefinition,
  TransitionCommit,
  CommitOutcome,
  UnfinishedCount,
  WriteBatch,
  WriteBatchResult,
} from "../src/store/saga-store.js";
import { measure, sagaflowLauncher, spread, type Sample, type Spread, type Window } from "./measure.js";
import { orchestrate } from "./targets.js";
import { benchSagas, EXPECTED_STATUS } from "./workload.js";

const COMMITTED: CommitOutcome = { ok: true };

/**
 * A `SagaStore` that writes nothing: creates and commits succeed at once, reads find nothing,
 * claims take nothing. Not a store anyone could run sagas on (a saga it "keeps" is gone), only
 * the floor under every real one. It counts the writes it was asked for, so a test can tell that
 * the runtime made the same writes as on a real store.
 */
export class NullStore implements SagaStore {
  creates = 0;
  commits = 0;

  init(): Promise<void> {
    return Promise.resolve();
  }

  createInstance(request: CreateInstanceRequest): Promise<CreateInstanceResult> {
    this.creates++;
    return Promise.resolve(created(request));
  }

  writeBatch(batch: WriteBatch): Promise<WriteBatchResult> {
    this.creates += batch.creates.length;
    this.commits += batch.commits.length;
    const creates = batch.creates.map((request): CreateOutcome => ({ ok: true, result: created(request) }));
    return Promise.resolve({ creates, commits: batch.commits.map(() => COMMITTED) });
  }

  commitTransitions(commits: readonly TransitionCommit[]): Promise<CommitOutcome[]> {
    this.commits += commits.length;
    return Promise.resolve(commits.map(() => COMMITTED));
  }

  getInstance(): Promise<InstanceRecord | null> {
    return Promise.resolve(null);
  }

  findByIdempotencyKey(): Promise<InstanceRecord | null> {
    return Promise.resolve(null);
  }

  getHistory(): Promise<StoredHistoryEntry[]> {
    return Promise.resolve([]);
  }

  listInstances(): Promise<ListPage> {
    return Promise.resolve({ items: [], nextCursor: null });
  }

  countByStatus(): Promise<Record<SagaStatus, number>> {
    return Promise.resolve(zeroCounts());
  }

  countUnfinishedByDefinition(): Promise<UnfinishedCount[]> {
    return Promise.resolve([]);
  }

  activity(): Promise<ActivityBucket[]> {
    return Promise.resolve([]);
  }

  claimDue(): Promise<ClaimedInstance[]> {
    return Promise.resolve([]);
  }

  renewLeases(_workerId: string, leases: readonly unknown[]): Promise<boolean[]> {
    return Promise.resolve(leases.map(() => true));
  }

  moveInstance(): Promise<MoveOutcome> {
    return Promise.resolve({ moved: false, reason: "not_found" });
  }

  releaseLease(): Promise<boolean> {
    return Promise.resolve(true);
  }

  deliver(): Promise<DeliverOutcome> {
    return Promise.resolve({ accepted: false, reason: "not_found" });
  }

  nextWakeAtMs(): Promise<number | null> {
    return Promise.resolve(null);
  }

  saveDefinition(): Promise<SaveDefinitionOutcome> {
    return Promise.reject(new Error("the null store keeps no definitions"));
  }

  listDefinitions(): Promise<StoredDefinition[]> {
    return Promise.resolve([]);
  }

  getDefinition(): Promise<StoredDefinition | null> {
    return Promise.resolve(null);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What a real store answers for a new instance: the request's state, leased as asked. */
function created(request: CreateInstanceRequest): CreateInstanceResult {
  const { lease } = request;
  return {
    created: true,
    record: {
      state: request.state,
      epoch: lease === undefined ? 0 : 1,
      leaseOwner: lease?.owner ?? null,
      leaseExpiresAtMs: lease?.expiresAtMs ?? null,
      inboxSeq: 0,
      inboxAppliedSeq: 0,
    },
  };
}

/**
 * What a runtime-alone row runs over: the null store (the runtime alone), or the memory store told
 * to forget each saga as it ends (`keepEnded: 0`): the in-memory row with all of the store's work
 * but keeping ended sagas, so the two rows apart show what a heap that keeps every saga costs.
 */
export type RuntimeAloneStore = "null" | "memory-forgetting";

/** A row's name in tables and notes. */
export function runtimeAloneName(over: RuntimeAloneStore): string {
  return over === "null" ? "runtime alone" : "memory store forgetting ended sagas";
}

/** One concurrency of the runtime alone: the success saga, as its rows run it. */
export interface RuntimeAloneRow {
  over: RuntimeAloneStore;
  concurrency: number;
  sagasPerSec: Spread;
  /** Writes the runtime asked of the store per saga (creates and commits), from the null store's counts (null over the memory store). */
  writesPerSaga: number | null;
  /** KiB allocated per saga and the share of the time in garbage collections (bench/gc.ts), median (min–max) over the windows. */
  allocatedKiBPerSaga: Spread | null;
  gcShare: Spread | null;
  runs: Sample[];
}

/** The success saga at `concurrency` on a fresh null store (or memory store, see `RuntimeAloneStore`), one sample per window. */
export async function measureRuntimeAlone(
  concurrency: number,
  window: Window,
  onRepeat: () => void = () => undefined,
  over: RuntimeAloneStore = "null",
): Promise<RuntimeAloneRow> {
  const nullStore = over === "null" ? new NullStore() : undefined;
  const store = nullStore ?? createMemoryStore({ keepEnded: 0 });
  const orchestrator = await orchestrate(store, concurrency, [benchSagas.success]);
  try {
    const launcher = sagaflowLauncher(orchestrator, benchSagas.success, EXPECTED_STATUS.success);
    try {
      const { samples, totalSagas } = await measure({ launcher, concurrency, window, onRepeat });
      return {
        over,
        concurrency,
        sagasPerSec: spread(samples.map((s) => s.sagasPerSec)) ?? { median: Number.NaN, min: Number.NaN, max: Number.NaN },
        writesPerSaga: nullStore === undefined ? null : (nullStore.creates + nullStore.commits) / totalSagas,
        allocatedKiBPerSaga: spread(samples.map((s) => s.allocatedKiBPerSaga)),
        gcShare: spread(samples.map((s) => s.gcShare)),
        runs: samples,
      };
    } finally {
      launcher.dispose();
    }
  } finally {
    await orchestrator.close();
  }
}

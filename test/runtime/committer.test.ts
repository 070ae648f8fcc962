import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { GroupCommitter, type CommitCallback, type CommitTarget } from "../../src/runtime/committer.js";
import type { CommitOutcome, CreateOutcome, TransitionCommit, WriteBatch, WriteBatchResult } from "../../src/store/saga-store.js";
import { createMemoryStore } from "../../src/store/memory/index.js";
import { newSaga, T0 } from "../store/fixtures.js";

/**
 * A memory store whose batch writes wait until the test lets them through, so what is in flight
 * and what waits can be looked at; it records the size of every batch it was given.
 */
function heldStore(concurrentWrites: number, failFirst = false): CommitTarget & { sizes: number[]; inFlight: number; release(): void } {
  const inner = createMemoryStore();
  const waiting: Array<() => void> = [];
  let failNext = failFirst;
  const target = {
    concurrentWrites,
    sizes: [] as number[],
    inFlight: 0,
    async writeBatch(batch: WriteBatch): Promise<WriteBatchResult> {
      target.sizes.push(batch.creates.length + batch.commits.length);
      target.inFlight++;
      try {
        await new Promise<void>((resolve) => waiting.push(resolve));
        if (failNext) {
          failNext = false;
          throw new Error("the disk is full");
        }
        return await inner.writeBatch(batch);
      } finally {
        target.inFlight--;
      }
    },
    release(): void {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
  return target;
}

/** Lets the committer's scheduled flushes run (each waits for the next turn of the event loop). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

function creates(committer: GroupCommitter, ids: string[]): Array<Promise<CreateOutcome>> {
  return ids.map((id) => committer.create(newSaga(id)));
}

/** A transition of `id` that gives its lease back; nothing holds a lease on it, so the store refuses it as fenced. */
function commitFor(id: string): TransitionCommit {
  return { sagaId: id, epoch: 1, workerId: "w1", nowMs: T0, state: newSaga(id).state, history: [], inboxSeq: 0, lease: "release" };
}

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("GroupCommitter", () => {
  it("writes what arrives in one turn as one batch, and answers no caller before that batch is written", async () => {
    const store = heldStore(1);
    const committer = new GroupCommitter(store);
    let answered = 0;
    const pending = creates(committer, ids("a", 10)).map((p) => p.then((outcome) => (answered++, outcome)));
    await turns();
    expect(store.sizes).toEqual([10]);
    expect(answered).toBe(0);
    store.release();
    const outcomes = await Promise.all(pending);
    expect(outcomes.every((outcome) => outcome.ok && outcome.result.created)).toBe(true);
  });

  it("forms no batch larger than the store's maxBatchSize, and writes the rest in the next batches", async () => {
    const store = Object.assign(heldStore(1), { maxBatchSize: 40 });
    const committer = new GroupCommitter(store);
    const hundred = creates(committer, ids("m", 100));
    await turns();
    expect(store.sizes).toEqual([40]);
    for (let i = 0; i < 3; i++) {
      store.release();
      await turns();
    }
    expect(store.sizes).toEqual([40, 40, 20]);
    store.release();
    expect((await Promise.all(hundred)).every((outcome) => outcome.ok)).toBe(true);
  });

  it("shares a long queue among the writes the store may run at once, in batches of at least 32", async () => {
    const store = heldStore(4);
    const committer = new GroupCommitter(store);
    const sixtyFour = creates(committer, ids("b", 64));
    await turns();
    // Two of 32, not four of 16: a smaller batch costs more per transition than its parallelism gives back.
    expect(store.sizes).toEqual([32, 32]);
    expect(store.inFlight).toBe(2);
    store.release();
    await Promise.all(sixtyFour);

    store.sizes.length = 0;
    const twoHundred = creates(committer, ids("c", 200));
    await turns();
    expect(store.sizes).toEqual([50, 50, 50, 50]);
    store.release();
    await Promise.all(twoHundred);

    store.sizes.length = 0;
    const twenty = creates(committer, ids("d", 20));
    await turns();
    expect(store.sizes).toEqual([20]);
    store.release();
    await Promise.all(twenty);
  });

  it("keeps what arrives while every write is in flight for the next batch", async () => {
    const store = heldStore(1);
    const committer = new GroupCommitter(store);
    const first = creates(committer, ids("e", 5));
    await turns();
    const second = creates(committer, ids("f", 7));
    await turns();
    expect(store.sizes).toEqual([5]);
    store.release();
    await Promise.all(first);
    await turns();
    expect(store.sizes).toEqual([5, 7]);
    store.release();
    await Promise.all(second);
  });

  it("tells a commit's watcher its outcome before its caller, and that there is none when the write failed", async () => {
    const store = heldStore(1, true);
    const committer = new GroupCommitter(store);
    const heard: string[] = [];
    const watcher = {
      settled(commit: TransitionCommit, outcome: CommitOutcome | undefined): void {
        heard.push(`${commit.sagaId}: ${outcome === undefined ? "no outcome" : outcome.ok ? "ok" : outcome.reason}`);
      },
    };
    const failed = committer.submit(commitFor("lost"), watcher).then(
      () => heard.push("lost: caller told it was written"),
      (error: unknown) => heard.push(`lost: caller told ${(error as Error).message}`),
    );
    await turns();
    store.release();
    await failed;
    // Nothing holds a lease on "unknown", so the store refuses it as fenced; the watcher hears that first.
    const refused = committer.submit(commitFor("unknown"), watcher).then((outcome) => heard.push(`unknown: caller told ${outcome.ok ? "ok" : outcome.reason}`));
    await turns();
    store.release();
    await refused;
    expect(heard).toEqual(["lost: no outcome", "lost: caller told the disk is full", "unknown: fenced", "unknown: caller told fenced"]);
  });

  it("calls an enqueued commit's callback in the turn its batch settles, after every watcher of the batch, and a commit enqueued from a callback goes in the next batch", async () => {
    const store = heldStore(1, true);
    const committer = new GroupCommitter(store);
    const heard: string[] = [];
    const watcher = { settled: (commit: TransitionCommit) => heard.push(`watcher ${commit.sagaId}`) };
    const callback = (id: string, then?: () => void): CommitCallback => ({
      committed: (outcome) => {
        heard.push(`${id}: ${outcome.ok ? "ok" : outcome.reason}`);
        then?.();
      },
      commitFailed: (error) => {
        heard.push(`${id}: failed, ${(error as Error).message}`);
        then?.();
      },
    });
    let batchSettled = false;
    committer.enqueue(commitFor("a"), watcher, callback("a", () => committer.enqueue(commitFor("c"), undefined, callback("c"))));
    committer.enqueue(commitFor("b"), watcher, callback("b", () => (batchSettled = true)));
    await turns();
    expect(store.sizes).toEqual([2]);
    store.release();
    // The callbacks run in the batch's own turn, so by the next turn every one has.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(batchSettled).toBe(true);
    expect(heard).toEqual(["watcher a", "watcher b", "a: failed, the disk is full", "b: failed, the disk is full"]);
    await turns();
    expect(store.sizes).toEqual([2, 1]);
    store.release();
    await turns();
    // Nothing holds a lease on "c": the store refuses it as fenced.
    expect(heard.slice(4)).toEqual(["c: fenced"]);
  });

  it("settles the rest of a batch when a callback throws, and hands the throw to onCallbackError", async () => {
    const store = heldStore(1);
    const reported: string[] = [];
    const committer = new GroupCommitter(store, { onCallbackError: (error) => reported.push((error as Error).message) });
    const heard: string[] = [];
    const callback = (id: string, fails: boolean): CommitCallback => ({
      committed: (outcome) => {
        heard.push(`${id}: ${outcome.ok ? "ok" : outcome.reason}`);
        if (fails) throw new Error(`${id}'s callback has a bug`);
      },
      commitFailed: () => heard.push(`${id}: failed`),
    });
    for (const [id, fails] of [["x", false], ["y", true], ["z", false]] as const) committer.enqueue(commitFor(id), undefined, callback(id, fails));
    await turns();
    store.release();
    await turns();
    expect(heard).toEqual(["x: fenced", "y: fenced", "z: fenced"]);
    expect(reported).toEqual(["y's callback has a bug"]);
  });

  it("rejects every caller of a batch whose write failed, and writes the next batch", async () => {
    const store = heldStore(1, true);
    const committer = new GroupCommitter(store);
    const first = creates(committer, ids("g", 3)).map((p) => p.then(() => "written", (error: unknown) => (error as Error).message));
    await turns();
    const second = creates(committer, ids("h", 2));
    store.release();
    expect(await Promise.all(first)).toEqual(["the disk is full", "the disk is full", "the disk is full"]);
    await turns();
    store.release();
    expect((await Promise.all(second)).every((outcome) => outcome.ok)).toBe(true);
  });
});

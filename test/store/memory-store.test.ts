import { describe, expect, it } from "vitest";
import { defineSaga, InvalidArgumentError, Orchestrator } from "../../src/index.js";
import type { HistoryEntry } from "../../src/domain/history.js";
import type { SagaState } from "../../src/domain/state.js";
import { createMemoryStore, type MemoryStore } from "../../src/store/memory/index.js";
import type { InstanceRecord, TransitionCommit } from "../../src/store/saga-store.js";
import { describeStoreConformance } from "./conformance.js";
import { cancel, claim, commitOf, create, expectInvalidArgument, newSaga, ORDER, orderPlan, REFUND, refundPlan, sagaCompleted, T0 } from "./fixtures.js";

describeStoreConformance(
  "MemoryStore",
  () => {
    const store = createMemoryStore();
    return Promise.resolve({ store, cleanup: () => store.close() });
  },
  { keepsWrittenObjects: true },
);

// The same contract with the table that forgetting ended sagas uses, set high enough that no test
// of the suite sees a saga forgotten.
describeStoreConformance(
  "MemoryStore (keepEnded)",
  () => {
    const store = createMemoryStore({ keepEnded: 1_000_000 });
    return Promise.resolve({ store, cleanup: () => store.close() });
  },
  { keepsWrittenObjects: true },
);

describe("MemoryStore due index", () => {
  /** A small deterministic PRNG, so a failure replays. */
  function prng(seed: number): () => number {
    let x = seed;
    return () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x / 2_147_483_648;
    };
  }

  it("claims, across thousands of instances with leases, releases and deliveries, exactly what a full scan would, in order", async () => {
    const store = createMemoryStore();
    const random = prng(7);
    const n = 3000;
    // The model: what each instance's scheduling columns are, kept beside the store.
    const model = new Map<string, { wakeAtMs: number | null; owner: string | null; expiresAtMs: number | null; epoch: number; definition: string }>();
    for (let i = 0; i < n; i++) {
      const id = `s${String(i).padStart(5, "0")}`;
      const plan = random() < 0.2 ? refundPlan : orderPlan;
      const wakeAtMs = T0 + Math.floor(random() * 1000);
      const leased = random() < 0.3;
      const lease = leased ? { owner: "w0", expiresAtMs: T0 + Math.floor(random() * 2000) } : undefined;
      await store.createInstance({ ...newSaga(id, { plan, wakeAtMs }), ...(lease ? { lease } : {}) });
      model.set(id, {
        wakeAtMs,
        owner: lease?.owner ?? null,
        expiresAtMs: lease?.expiresAtMs ?? null,
        epoch: leased ? 1 : 0,
        definition: plan === refundPlan ? REFUND : ORDER,
      });
    }
    expect(store.dueIndexSize).toBe(n);

    const claimable = (nowMs: number, definitions: string[]): string[] =>
      [...model.entries()]
        .filter(
          ([, m]) =>
            m.wakeAtMs !== null &&
            m.wakeAtMs <= nowMs &&
            definitions.includes(m.definition) &&
            (m.owner === null || (m.expiresAtMs ?? 0) < nowMs),
        )
        .sort(([a, x], [b, y]) => (x.wakeAtMs ?? 0) - (y.wakeAtMs ?? 0) || (a < b ? -1 : 1))
        .map(([id]) => id);
    const nextAt = (definitions: string[]): number | null => {
      let next: number | null = null;
      for (const m of model.values()) {
        if (m.wakeAtMs === null || !definitions.includes(m.definition)) continue;
        const at = m.owner === null ? m.wakeAtMs : Math.max(m.wakeAtMs, (m.expiresAtMs ?? 0) + 1);
        if (next === null || at < next) next = at;
      }
      return next;
    };

    for (let round = 0; round < 60; round++) {
      const nowMs = T0 + round * 40;
      const definitions = round % 3 === 0 ? [ORDER] : [ORDER, REFUND];
      expect(await store.nextWakeAtMs(definitions)).toBe(nextAt(definitions));
      const limit = 1 + Math.floor(random() * 40);
      const expected = claimable(nowMs, definitions).slice(0, limit);
      const claimed = await store.claimDue({ workerId: `w${round}`, nowMs, leaseMs: 500, limit, definitions });
      expect(claimed.map((c) => c.record.state.id)).toEqual(expected);
      for (const c of claimed) {
        const m = model.get(c.record.state.id);
        if (m === undefined) throw new Error("unknown instance");
        m.epoch++;
        m.owner = `w${round}`;
        m.expiresAtMs = nowMs + 500;
        const roll = random();
        if (roll < 0.4) {
          // Ends: leaves the index for good.
          const done = sagaCompleted(c.record.state, nowMs);
          expect(await store.commitTransitions([commitOf(c, done, { nowMs, lease: "release" })])).toEqual([{ ok: true }]);
          m.wakeAtMs = null;
        } else if (roll < 0.7) {
          // Waits for a retry, unleased.
          const waiting = { ...c.record.state, wakeAtMs: nowMs + Math.floor(random() * 300) };
          expect(await store.commitTransitions([commitOf(c, { state: waiting, history: [] }, { nowMs, lease: "release" })])).toEqual([{ ok: true }]);
          m.wakeAtMs = waiting.wakeAtMs;
          m.owner = null;
          m.expiresAtMs = null;
        } else if (roll < 0.85) {
          expect(await store.renewLeases(`w${round}`, [{ sagaId: c.record.state.id, epoch: c.record.epoch }], nowMs + 900, nowMs)).toEqual([true]);
          m.expiresAtMs = nowMs + 900;
        } else {
          expect(await store.releaseLease(`w${round}`, { sagaId: c.record.state.id, epoch: c.record.epoch })).toBe(true);
          m.owner = null;
          m.expiresAtMs = null;
        }
      }
      // A delivery pulls a waiting instance forward.
      const target = `s${String(Math.floor(random() * n)).padStart(5, "0")}`;
      const m = model.get(target);
      const outcome = await store.deliver(target, cancel(), nowMs);
      if (m !== undefined && m.wakeAtMs !== null) {
        expect(outcome.accepted).toBe(true);
        m.wakeAtMs = Math.min(m.wakeAtMs, nowMs);
      }
    }
    expect(store.dueIndexSize).toBe([...model.values()].filter((m) => m.wakeAtMs !== null).length);
    await store.close();
  });
});

describe("MemoryStore keepEnded", () => {
  /** Creates, claims and ends each saga in turn (`completed`, or the status given), one write each. */
  async function endInTurn(store: MemoryStore, ids: string[], status: "completed" | "compensated" | "failed" = "completed", key?: (id: string) => string): Promise<void> {
    for (const id of ids) {
      await create(store, id, key === undefined ? {} : { key: key(id) });
      const [claimed] = await claim(store, "w1", T0, [id]);
      if (claimed === undefined) throw new Error(`claimed nothing for ${id}`);
      const ended = sagaCompleted(claimed.record.state, T0 + 1);
      ended.state.status = status;
      expect(await store.commitTransitions([commitOf(claimed, ended, { lease: "release" })])).toEqual([{ ok: true }]);
    }
  }

  it("keeps the sagas that ended most recently and forgets older ones whole: state, history and idempotency key", async () => {
    const store = createMemoryStore({ keepEnded: 3 });
    const ids = ["e1", "e2", "e3", "e4", "e5"];
    await endInTurn(store, ids, "completed", (id) => `key-${id}`);
    for (const id of ["e1", "e2"]) {
      expect(await store.getInstance(id)).toBeNull();
      expect(await store.getHistory(id)).toEqual([]);
      expect(await store.findByIdempotencyKey(`key-${id}`)).toBeNull();
    }
    for (const id of ["e3", "e4", "e5"]) {
      expect((await store.getInstance(id))?.state.status).toBe("completed");
      expect((await store.getHistory(id)).at(-1)).toMatchObject({ type: "saga_ended", seq: 2 });
    }
    expect((await store.countByStatus()).completed).toBe(3);
    expect((await store.listInstances({ limit: 10 })).items.map((state) => state.id).sort()).toEqual(["e3", "e4", "e5"]);
    // A forgotten saga's key names nothing any more: starting with it creates a new saga.
    const again = await store.createInstance(newSaga("e1-again", { key: "key-e1" }));
    expect(again.created).toBe(true);
    // A kept one's key still finds it.
    const kept = await store.createInstance(newSaga("e5-again", { key: "key-e5" }));
    expect(kept).toMatchObject({ created: false, record: { state: { id: "e5" } } });
    await store.close();
  });

  it("never forgets a failed saga or one still going, and counts compensated ones among the ended", async () => {
    const store = createMemoryStore({ keepEnded: 1 });
    await endInTurn(store, ["f1", "f2"], "failed");
    // Not due before the other sagas are claimed.
    await create(store, "running", { wakeAtMs: T0 + 60_000 });
    await endInTurn(store, ["c1", "c2"], "compensated");
    await endInTurn(store, ["d1"], "completed");
    for (const id of ["f1", "f2", "running", "d1"]) expect(await store.getInstance(id)).not.toBeNull();
    for (const id of ["c1", "c2"]) expect(await store.getInstance(id)).toBeNull();
    expect(await store.countByStatus()).toMatchObject({ failed: 2, running: 1, compensated: 0, completed: 1 });
    expect(store.dueIndexSize).toBe(1);
    await store.close();
  });

  it("with 0, forgets a saga the moment it ends", async () => {
    const store = createMemoryStore({ keepEnded: 0 });
    await endInTurn(store, ["z1"]);
    expect(await store.getInstance("z1")).toBeNull();
    // Created already ended: never kept either.
    const created = await store.createInstance(newSaga("z2", { status: "completed", wakeAtMs: null }));
    expect(created.created).toBe(true);
    expect(await store.getInstance("z2")).toBeNull();
    await store.close();
  });

  it("forgets nothing for a batch that throws: the batch's ending is undone and the kept sagas stay", async () => {
    const store = createMemoryStore({ keepEnded: 1 });
    await endInTurn(store, ["kept"]);
    await create(store, "x");
    const [claimed] = await claim(store, "w1", T0, ["x"]);
    if (claimed === undefined) throw new Error("claimed nothing");
    const ending = commitOf(claimed, sagaCompleted(claimed.record.state, T0 + 1), { lease: "release" });
    // A caller's bug later in the batch: a commit whose state names another instance.
    const wrong = { ...ending, sagaId: "kept" };
    await expect(store.writeBatch({ creates: [], commits: [ending, wrong] })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await store.getInstance("kept"))?.state.status).toBe("completed");
    expect((await store.getInstance("x"))?.state.status).toBe("running");
    // The same ending alone then goes through, and the older ended saga is the one forgotten.
    expect(await store.writeBatch({ creates: [], commits: [ending] })).toMatchObject({ commits: [{ ok: true }] });
    expect(await store.getInstance("kept")).toBeNull();
    expect((await store.getInstance("x"))?.state.status).toBe("completed");
    await store.close();
  });

  it("keeps a saga that a late commit or a refused move touched among the ended, as the newest of them", async () => {
    const store = createMemoryStore({ keepEnded: 1 });
    await endInTurn(store, ["old"]);
    const before = await store.getInstance("old");
    if (before === null) throw new Error("old was not kept");
    // A move for an epoch that has moved on is refused; the saga stays ended and kept.
    const refused = await store.moveInstance({ sagaId: "old", epoch: before.epoch - 1, state: before.state, history: [], nowMs: T0 + 2 });
    expect(refused).toEqual({ moved: false, reason: "changed" });
    expect((await store.getInstance("old"))?.state.status).toBe("completed");
    // The next saga to end is kept in its place: "old" is not left behind as a live saga.
    await endInTurn(store, ["new"]);
    expect(await store.getInstance("old")).toBeNull();
    expect((await store.countByStatus()).completed).toBe(1);
    // A late writer's commit to the kept saga is recorded, and the saga stays the one kept.
    const kept = await store.getInstance("new");
    if (kept === null) throw new Error("new was not kept");
    const late = commitOf({ record: { ...kept, leaseOwner: "w1" }, inbox: [] }, sagaCompleted(kept.state, T0 + 3), { lease: "release" });
    expect(await store.commitTransitions([late])).toEqual([{ ok: false, reason: "fenced" }]);
    expect((await store.getHistory("new")).at(-1)).toMatchObject({ type: "write_rejected" });
    expect((await store.countByStatus()).completed).toBe(1);
    await endInTurn(store, ["newest"]);
    expect(await store.getInstance("new")).toBeNull();
    await store.close();
  });

  it("refuses a keepEnded that is not a whole number ≥ 0, naming it", async () => {
    for (const keepEnded of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10" as unknown as number]) {
      await expectInvalidArgument(
        Promise.resolve().then(() => createMemoryStore({ keepEnded })),
        "keepEnded",
      );
    }
  });

  it("under an orchestrator, keeps only the last sagas that ended and runs every saga to its end", async () => {
    const trip = defineSaga<{ n: number }>({ name: "trip", version: 1 })
      .step("book", { action: ({ input }) => ({ booked: input.n }), compensate: () => null })
      .build();
    const store = createMemoryStore({ keepEnded: 10 });
    const orchestrator = await Orchestrator.create({ store, definitions: [trip], concurrency: 8 });
    let completed = 0;
    // Heard of as they end: `waitFor` a saga already forgotten would find nothing.
    const allEnded = new Promise<void>((resolve) => {
      orchestrator.onTransition((notice) => {
        if (notice.state.status === "completed" && ++completed === 50) resolve();
      });
    });
    try {
      for (let n = 0; n < 50; n++) await orchestrator.start(trip, { n });
      await allEnded;
      expect(await store.countByStatus()).toMatchObject({ running: 0, compensating: 0, completed: 10 });
      expect((await store.listInstances({ limit: 100 })).items).toHaveLength(10);
    } finally {
      await orchestrator.close();
    }
  });
});

describe("MemoryStore packed ended sagas", () => {
  /** A saga created, claimed by w1 and completed with its lease released: the store then keeps it packed. */
  async function completed(store: MemoryStore, id: string): Promise<{ epoch: number; state: SagaState }> {
    await create(store, id, { key: `key-${id}` });
    const [claimed] = await claim(store, "w1", T0, [id]);
    if (claimed === undefined) throw new Error(`claimed nothing for ${id}`);
    const ended = sagaCompleted(claimed.record.state, T0 + 1);
    expect(await store.commitTransitions([commitOf(claimed, ended, { lease: "release" })])).toEqual([{ ok: true }]);
    return { epoch: claimed.record.epoch, state: ended.state };
  }

  it("answers every read of a packed saga as it would the saga itself, in copies the caller owns", async () => {
    const store = createMemoryStore();
    const { state } = await completed(store, "p1");
    const record = await store.getInstance("p1");
    expect(record).toEqual({ state, epoch: 1, leaseOwner: null, leaseExpiresAtMs: null, inboxSeq: 0, inboxAppliedSeq: 0 });
    expect(await store.findByIdempotencyKey("key-p1")).toEqual(record);
    (record as InstanceRecord).state.steps[0]!.name = "changed by the caller";
    expect((await store.getInstance("p1"))?.state).toEqual(state);
    const history = await store.getHistory("p1");
    expect(history.map((entry) => [entry.seq, entry.type, entry.workerId ?? null])).toEqual([
      [1, "saga_started", null],
      [2, "saga_ended", "w1"],
    ]);
    expect(await store.countByStatus()).toMatchObject({ completed: 1 });
    expect((await store.listInstances({ limit: 5, statuses: ["completed"] })).items).toEqual([state]);
    const again = await store.createInstance(newSaga("p1-again", { key: "key-p1" }));
    expect(again).toMatchObject({ created: false, record: { state: { id: "p1" } } });
    await store.close();
  });

  it("refuses deliveries and lease calls to a packed saga, and records a late writer's fenced commit", async () => {
    const store = createMemoryStore();
    const { epoch, state } = await completed(store, "p2");
    expect(await store.deliver("p2", cancel(), T0 + 2)).toEqual({ accepted: false, reason: "terminal", status: "completed" });
    expect(await store.renewLeases("w1", [{ sagaId: "p2", epoch }], T0 + 5_000, T0 + 2)).toEqual([false]);
    expect(await store.releaseLease("w1", { sagaId: "p2", epoch })).toBe(false);
    const late: TransitionCommit = { sagaId: "p2", epoch, workerId: "w1", nowMs: T0 + 3, state, history: [{ type: "saga_ended", atMs: T0 + 3, status: "completed" }], inboxSeq: 0, lease: "release" };
    expect(await store.commitTransitions([late])).toEqual([{ ok: false, reason: "fenced" }]);
    expect((await store.getHistory("p2")).at(-1)).toMatchObject({ seq: 3, type: "write_rejected", reason: "fenced", workerId: "w1" });
    expect((await store.getInstance("p2"))?.state).toEqual(state);
    await store.close();
  });

  it("moves a packed saga like any other unleased one", async () => {
    const store = createMemoryStore();
    const { epoch, state } = await completed(store, "p3");
    const moved = { ...state, definitionVersion: 2 };
    const entry: HistoryEntry = { type: "migrated", atMs: T0 + 4, fromVersion: 1, toVersion: 2, reason: "test", by: "ops" };
    expect(await store.moveInstance({ sagaId: "p3", epoch: epoch + 1, nowMs: T0 + 4, state: moved, history: [entry] })).toEqual({ moved: false, reason: "changed" });
    expect(await store.moveInstance({ sagaId: "p3", epoch, nowMs: T0 + 4, state: moved, history: [entry] })).toEqual({ moved: true });
    expect(await store.getInstance("p3")).toMatchObject({ state: { definitionVersion: 2 }, epoch: epoch + 1 });
    expect((await store.getHistory("p3")).at(-1)).toMatchObject({ type: "migrated", seq: 3 });
    await store.close();
  });
});

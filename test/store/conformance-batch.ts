import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import type { CreateOutcome, SagaStore } from "../../src/store/saga-store.js";
import { claim, commitOf, create, expectInvalidArgument, LEASE_MS, newSaga, ORDER, stepSucceeded, T0 } from "./fixtures.js";

function createdRecord(outcome: CreateOutcome | undefined): { created: boolean; id: string; epoch: number } {
  if (outcome === undefined || !outcome.ok) throw new Error(`expected a create outcome, got ${JSON.stringify(outcome)}`);
  return { created: outcome.result.created, id: outcome.result.record.state.id, epoch: outcome.result.record.epoch };
}

/** `writeBatch`: new instances and transitions in one transaction, each with its own outcome. */
export function describeBatchCases(store: () => SagaStore): void {
  describe("writeBatch", () => {
    it("creates instances and commits transitions of others in one call, one outcome per item in order", async () => {
      await create(store(), "a");
      const [a] = await claim(store(), "w1", T0, ["a"]);
      if (a === undefined) throw new Error("claim failed");
      const change = stepSucceeded(a.record.state, T0 + 1);

      const result = await store().writeBatch({
        creates: [newSaga("b", { nowMs: T0 + 1 }), { ...newSaga("c", { nowMs: T0 + 1 }), lease: { owner: "w1", expiresAtMs: T0 + 1 + LEASE_MS } }],
        commits: [commitOf(a, change, { nowMs: T0 + 1 })],
      });

      expect(result.commits).toEqual([{ ok: true }]);
      expect(result.creates.map(createdRecord)).toEqual([
        { created: true, id: "b", epoch: 0 },
        { created: true, id: "c", epoch: 1 },
      ]);
      expect((await store().getInstance("a"))?.state).toEqual(change.state);
      expect(await store().getInstance("c")).toMatchObject({ epoch: 1, leaseOwner: "w1" });
      expect(await store().getHistory("c")).toMatchObject([{ seq: 1, type: "saga_started", workerId: "w1", epoch: 1 }]);
      expect(await store().getHistory("b")).toEqual([{ ...newSaga("b", { nowMs: T0 + 1 }).history[0], seq: 1 }]);
      // The unleased one is work for any worker; the leased one is not.
      await claim(store(), "w2", T0 + 1, ["b"]);
    });

    it("answers an empty batch with empty outcomes", async () => {
      expect(await store().writeBatch({ creates: [], commits: [] })).toEqual({ creates: [], commits: [] });
    });

    it("creates one instance for an idempotency key used twice in one batch; the second gets created: false and the first", async () => {
      const result = await store().writeBatch({
        creates: [newSaga("first", { key: "order-7" }), newSaga("second", { key: "order-7", nowMs: T0 + 3 }), newSaga("other", { key: "order-8" })],
        commits: [],
      });

      expect(result.creates.map(createdRecord)).toEqual([
        { created: true, id: "first", epoch: 0 },
        { created: false, id: "first", epoch: 0 },
        { created: true, id: "other", epoch: 0 },
      ]);
      expect(await store().getInstance("second")).toBeNull();
      expect(await store().getHistory("second")).toEqual([]);
      expect((await store().findByIdempotencyKey("order-7"))?.state.id).toBe("first");
      expect((await store().countByStatus()).running).toBe(2);
    });

    it("returns the existing instance for a key created by an earlier call", async () => {
      await create(store(), "old", { key: "k" });
      const result = await store().writeBatch({ creates: [newSaga("new", { key: "k" }), newSaga("fresh")], commits: [] });
      expect(result.creates.map(createdRecord)).toEqual([
        { created: false, id: "old", epoch: 0 },
        { created: true, id: "fresh", epoch: 0 },
      ]);
      expect(await store().getInstance("new")).toBeNull();
    });

    it("fails only the create whose id is already in use, in the store or earlier in the batch", async () => {
      await create(store(), "taken");
      const result = await store().writeBatch({
        creates: [newSaga("taken", { nowMs: T0 + 9 }), newSaga("fine"), newSaga("twice"), newSaga("twice", { nowMs: T0 + 9 })],
        commits: [],
      });

      const [taken, fine, twice, again] = result.creates;
      expect(taken).toMatchObject({ ok: false });
      expect(again).toMatchObject({ ok: false });
      for (const refused of [taken, again]) {
        if (refused?.ok !== false) throw new Error("expected a refusal");
        expect(refused.error).toBeInstanceOf(InvalidArgumentError);
        expect(refused.error).toMatchObject({ field: "state.id", code: "INVALID_ARGUMENT" });
      }
      expect([fine, twice].map(createdRecord)).toEqual([
        { created: true, id: "fine", epoch: 0 },
        { created: true, id: "twice", epoch: 0 },
      ]);
      expect((await store().getInstance("taken"))?.state.createdAtMs).toBe(T0);
      expect((await store().getInstance("twice"))?.state.createdAtMs).toBe(T0);
      expect(await store().getHistory("twice")).toHaveLength(1);
    });

    it("keeps the creates of a batch whose commit is fenced", async () => {
      await create(store(), "a");
      const [stale] = await claim(store(), "w1", T0, ["a"]);
      await claim(store(), "w2", T0 + LEASE_MS + 1, ["a"]);
      if (stale === undefined) throw new Error("claim failed");

      const result = await store().writeBatch({
        creates: [newSaga("b")],
        commits: [commitOf(stale, stepSucceeded(stale.record.state, T0 + 1), { nowMs: T0 + 1 })],
      });

      expect(result.commits).toEqual([{ ok: false, reason: "fenced" }]);
      expect(result.creates.map(createdRecord)).toEqual([{ created: true, id: "b", epoch: 0 }]);
      expect(await store().getInstance("b")).not.toBeNull();
    });

    it("writes none of the batch, creates included, when a commit is a caller's bug", async () => {
      await create(store(), "a");
      const [a] = await claim(store(), "w1", T0, ["a"]);
      if (a === undefined) throw new Error("claim failed");

      await expectInvalidArgument(
        store().writeBatch({ creates: [newSaga("b", { key: "kb" })], commits: [commitOf(a, stepSucceeded(a.record.state, T0 + 1), { inboxSeq: 7 })] }),
        "inboxSeq",
      );

      expect(await store().getInstance("b")).toBeNull();
      expect(await store().findByIdempotencyKey("kb")).toBeNull();
      expect(await store().getHistory("b")).toEqual([]);
      expect(await store().getInstance("a")).toEqual(a.record);
      // The id and the key are free again.
      expect(createdRecord((await store().writeBatch({ creates: [newSaga("b", { key: "kb" })], commits: [] })).creates[0])).toEqual({
        created: true,
        id: "b",
        epoch: 0,
      });
      expect(await store().nextWakeAtMs([ORDER])).toBe(T0);
    });

    it("puts back a commit it had written when a later commit of the batch is a caller's bug", async () => {
      await create(store(), "a");
      await create(store(), "b");
      const claimed = await claim(store(), "w1", T0, ["a", "b"]);
      const [a, b] = claimed;
      if (a === undefined || b === undefined) throw new Error("claim failed");
      const before = { instance: await store().getInstance("a"), history: await store().getHistory("a") };

      await expectInvalidArgument(
        store().writeBatch({
          creates: [],
          commits: [commitOf(a, stepSucceeded(a.record.state, T0 + 1), { nowMs: T0 + 1 }), commitOf(b, stepSucceeded(b.record.state, T0 + 1), { inboxSeq: 7 })],
        }),
        "inboxSeq",
      );

      expect(await store().getInstance("a")).toEqual(before.instance);
      expect(await store().getHistory("a")).toEqual(before.history);
      // Still held as before: its lease, epoch and history count are what a commit is checked against.
      const again = stepSucceeded(a.record.state, T0 + 2);
      expect((await store().writeBatch({ creates: [], commits: [commitOf(a, again, { nowMs: T0 + 2 })] })).commits).toEqual([{ ok: true }]);
      expect(await store().getHistory("a")).toHaveLength(before.history.length + again.history.length);
    });
  });
}

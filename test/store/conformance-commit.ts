import { describe, expect, it } from "vitest";
import type { SagaStore } from "../../src/store/saga-store.js";
import { claim, commitOf, create, expectInvalidArgument, LEASE_MS, ORDER, sagaCompleted, stepSucceeded, T0 } from "./fixtures.js";

/** Group commits: what is written, and what fencing refuses. */
export function describeCommitCases(store: () => SagaStore): void {
  describe("commitTransitions", () => {
    it("appends history with consecutive numbers, replaces the state and extends the lease", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      const first = stepSucceeded(claimed.record.state, T0 + 1);
      expect(await store().commitTransitions([commitOf(claimed, first, { nowMs: T0 + 1 })])).toEqual([{ ok: true }]);
      const last = sagaCompleted(first.state, T0 + 2);
      expect(await store().commitTransitions([commitOf(claimed, last, { nowMs: T0 + 2 })])).toEqual([{ ok: true }]);

      const history = await store().getHistory("a");
      expect(history.map((e) => [e.seq, e.type, e.workerId, e.epoch])).toEqual([
        [1, "saga_started", undefined, undefined],
        [2, "attempt_started", "w1", 1],
        [3, "attempt_succeeded", "w1", 1],
        [4, "saga_ended", "w1", 1],
      ]);
      expect(history[2]).toMatchObject({ output: { paymentId: "pay-a" } });
      expect(await store().getInstance("a")).toEqual({
        state: last.state,
        epoch: 1,
        leaseOwner: "w1",
        leaseExpiresAtMs: T0 + 2 + LEASE_MS,
        inboxSeq: 0,
        inboxAppliedSeq: 0,
      });
      expect((await store().countByStatus()).completed).toBe(1);
    });

    it("refuses a commit from an older epoch as fenced and changes nothing", async () => {
      await create(store(), "a");
      const [stale] = await claim(store(), "w1", T0, ["a"]);
      const [current] = await claim(store(), "w2", T0 + LEASE_MS + 1, ["a"]);
      if (stale === undefined || current === undefined) throw new Error("claim failed");

      const outcome = await store().commitTransitions([commitOf(stale, stepSucceeded(stale.record.state, T0 + LEASE_MS + 2), { nowMs: T0 + 1 })]);

      expect(outcome).toEqual([{ ok: false, reason: "fenced" }]);
      expect(await store().getInstance("a")).toEqual(current.record);
      // Nothing of the late write is kept but the record that it was refused.
      const history = await store().getHistory("a");
      expect(history.map((e) => [e.seq, e.type, e.workerId, e.epoch])).toEqual([
        [1, "saga_started", undefined, undefined],
        [2, "write_rejected", "w1", 1],
      ]);
      expect(history[1]).toMatchObject({
        reason: "fenced",
        currentEpoch: 2,
        atMs: T0 + 1,
        rejected: [
          { type: "attempt_started", step: "reserve-payment", phase: "action", attempt: 1 },
          { type: "attempt_succeeded", step: "reserve-payment", phase: "action", attempt: 1 },
        ],
      });
    });

    it("numbers the owner's next history entries after a rejected write's record", async () => {
      await create(store(), "a");
      const [stale] = await claim(store(), "w1", T0, ["a"]);
      const now = T0 + LEASE_MS + 1;
      const [current] = await claim(store(), "w2", now, ["a"]);
      if (stale === undefined || current === undefined) throw new Error("claim failed");
      await store().commitTransitions([commitOf(stale, stepSucceeded(stale.record.state, now), { nowMs: now })]);
      expect(await store().commitTransitions([commitOf(current, stepSucceeded(current.record.state, now + 1), { nowMs: now + 1 })])).toEqual([{ ok: true }]);
      const history = await store().getHistory("a");
      expect(history.map((e) => [e.seq, e.type, e.workerId])).toEqual([
        [1, "saga_started", undefined],
        [2, "write_rejected", "w1"],
        [3, "attempt_started", "w2"],
        [4, "attempt_succeeded", "w2"],
      ]);
    });

    it("refuses a commit whose own lease expired, though nobody took it over", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      const late = T0 + LEASE_MS + 1;
      const onTime = commitOf(claimed, stepSucceeded(claimed.record.state, late), { nowMs: T0 + LEASE_MS });

      expect(await store().commitTransitions([{ ...onTime, nowMs: late }])).toEqual([{ ok: false, reason: "fenced" }]);
      expect(await store().getInstance("a")).toEqual(claimed.record);
      expect(await store().commitTransitions([onTime])).toEqual([{ ok: true }]);
    });

    it("refuses a commit from a worker that does not hold the lease, and one for an unknown instance", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      const change = stepSucceeded(claimed.record.state, T0 + 1);
      const ghost = { ...change.state, id: "ghost" };

      const outcome = await store().commitTransitions([
        commitOf(claimed, change, { workerId: "w2", nowMs: T0 + 1 }),
        { ...commitOf(claimed, { state: ghost, history: [] }, { nowMs: T0 + 1 }), sagaId: "ghost" },
      ]);

      expect(outcome).toEqual([
        { ok: false, reason: "fenced" },
        { ok: false, reason: "fenced" },
      ]);
      expect(await store().getInstance("ghost")).toBeNull();
      expect(await store().getHistory("ghost")).toEqual([]);
      expect(await store().getInstance("a")).toEqual(claimed.record);
      expect((await store().getHistory("a")).map((e) => [e.type, e.workerId])).toEqual([
        ["saga_started", undefined],
        ["write_rejected", "w2"],
      ]);
    });

    it("persists the good items of a batch around a fenced one", async () => {
      for (const id of ["a", "b", "c"]) await create(store(), id);
      const [a, , c] = await claim(store(), "w1", T0, ["a", "b", "c"]);
      const now = T0 + LEASE_MS + 1;
      const [, b] = await claim(store(), "w2", now, ["a", "b", "c"]);
      if (a === undefined || b === undefined || c === undefined) throw new Error("claim failed");

      const outcome = await store().commitTransitions([
        commitOf(a, stepSucceeded(a.record.state, now), { nowMs: now }),
        commitOf(b, stepSucceeded(b.record.state, now), { nowMs: now }),
        commitOf(c, stepSucceeded(c.record.state, now), { nowMs: now }),
      ]);

      expect(outcome).toEqual([{ ok: false, reason: "fenced" }, { ok: true }, { ok: false, reason: "fenced" }]);
      expect(await store().getHistory("b")).toHaveLength(3);
      expect((await store().getInstance("b"))?.state.steps[0]?.action.status).toBe("succeeded");
      expect((await store().getHistory("a")).map((e) => e.type)).toEqual(["saga_started", "write_rejected"]);
      expect((await store().getHistory("c")).map((e) => e.type)).toEqual(["saga_started", "write_rejected"]);
    });

    it("releases the lease on request, making the instance claimable at its wake-up and not before", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      const change = stepSucceeded(claimed.record.state, T0 + 1);
      change.state.wakeAtMs = T0 + 500;

      expect(await store().commitTransitions([commitOf(claimed, change, { nowMs: T0 + 1, lease: "release" })])).toEqual([{ ok: true }]);

      expect(await store().getInstance("a")).toMatchObject({ leaseOwner: null, leaseExpiresAtMs: null, epoch: 1 });
      expect(await store().nextWakeAtMs([ORDER])).toBe(T0 + 500);
      await claim(store(), "w2", T0 + 499, []);
      const [again] = await claim(store(), "w2", T0 + 500, ["a"]);
      expect(again?.record.epoch).toBe(2);
    });

    it("refuses a whole batch, writing none of it, when an item claims inbox messages that were never delivered", async () => {
      await create(store(), "a");
      await create(store(), "b");
      const [a, b] = await claim(store(), "w1", T0, ["a", "b"]);
      if (a === undefined || b === undefined) throw new Error("claim failed");

      const batch = [commitOf(a, stepSucceeded(a.record.state, T0 + 1)), commitOf(b, stepSucceeded(b.record.state, T0 + 1), { inboxSeq: 7 })];
      await expectInvalidArgument(store().commitTransitions(batch), "inboxSeq");

      expect(await store().getHistory("a")).toHaveLength(1);
      expect(await store().getInstance("a")).toEqual(a.record);
    });

    it("refuses a commit whose state belongs to another instance", async () => {
      await create(store(), "a");
      const [a] = await claim(store(), "w1", T0, ["a"]);
      if (a === undefined) throw new Error("claim failed");
      const change = stepSucceeded(a.record.state, T0 + 1);
      await expectInvalidArgument(store().commitTransitions([commitOf(a, { ...change, state: { ...change.state, id: "b" } })]), "state.id");
      expect(await store().getHistory("a")).toHaveLength(1);
    });
  });
}

import { describe, expect, it } from "vitest";
import { definitionKey, type SagaStore } from "../../src/store/saga-store.js";
import { cancel, claim, commitOf, create, LEASE_MS, ORDER, REFUND, refundPlan, sagaCompleted, stepSucceeded, T0 } from "./fixtures.js";

/** Deliveries to the inbox, lease renewal and release, and the next wake-up. */
export function describeInboxAndLeaseCases(store: () => SagaStore): void {
  describe("deliver and the inbox", () => {
    it("numbers messages, makes the instance due at once and hands them to the next claim, oldest first", async () => {
      await create(store(), "a", { wakeAtMs: T0 + 10_000 });
      expect(await store().deliver("a", cancel("first"), T0 + 5)).toEqual({ accepted: true, seq: 1 });
      expect(await store().deliver("a", cancel("second"), T0 + 6)).toEqual({ accepted: true, seq: 2 });

      const [claimed] = await claim(store(), "w1", T0 + 6, ["a"]);

      expect(claimed?.inbox).toEqual([
        { seq: 1, event: cancel("first"), receivedAtMs: T0 + 5 },
        { seq: 2, event: cancel("second"), receivedAtMs: T0 + 6 },
      ]);
      expect(claimed?.record).toMatchObject({ inboxSeq: 2, inboxAppliedSeq: 0 });
      // The engine's own wake-up is its business; the store only schedules around it.
      expect(claimed?.record.state.wakeAtMs).toBe(T0 + 10_000);
    });

    it("refuses a commit that missed messages with inbox_changed, then accepts it and consumes them", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      await store().deliver("a", cancel("one"), T0 + 1);
      await store().deliver("a", cancel("two"), T0 + 2);
      const change = stepSucceeded(claimed.record.state, T0 + 3);

      const stale = await store().commitTransitions([commitOf(claimed, change, { nowMs: T0 + 3, inboxSeq: 0 })]);
      expect(stale).toEqual([
        {
          ok: false,
          reason: "inbox_changed",
          inbox: [
            { seq: 1, event: cancel("one"), receivedAtMs: T0 + 1 },
            { seq: 2, event: cancel("two"), receivedAtMs: T0 + 2 },
          ],
        },
      ]);
      expect(await store().getHistory("a")).toHaveLength(1);

      const partial = await store().commitTransitions([commitOf(claimed, change, { nowMs: T0 + 3, inboxSeq: 1 })]);
      expect(partial).toEqual([{ ok: false, reason: "inbox_changed", inbox: [{ seq: 2, event: cancel("two"), receivedAtMs: T0 + 2 }] }]);

      const applied = await store().commitTransitions([commitOf(claimed, change, { nowMs: T0 + 3, inboxSeq: 2, lease: "release" })]);
      expect(applied).toEqual([{ ok: true }]);
      const [next] = await claim(store(), "w2", T0 + 4, ["a"]);
      expect(next?.inbox).toEqual([]);
      expect(next?.record).toMatchObject({ inboxSeq: 2, inboxAppliedSeq: 2 });
    });

    it("refuses deliveries to terminal and unknown instances, writing nothing", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      await store().commitTransitions([commitOf(claimed, sagaCompleted(claimed.record.state, T0 + 1), { nowMs: T0 + 1, lease: "release" })]);

      expect(await store().deliver("a", cancel(), T0 + 2)).toEqual({ accepted: false, reason: "terminal", status: "completed" });
      expect(await store().deliver("ghost", cancel(), T0 + 2)).toEqual({ accepted: false, reason: "not_found" });
      expect((await store().getInstance("a"))?.inboxSeq).toBe(0);
      expect(await store().getInstance("ghost")).toBeNull();
    });

    it("takes an operator's retry for a failed instance only, and hands the reopened instance to the next claim", async () => {
      await create(store(), "f");
      await create(store(), "c");
      for (const claimed of await claim(store(), "w1", T0, ["c", "f"])) {
        const ended = sagaCompleted(claimed.record.state, T0 + 1);
        ended.state.status = claimed.record.state.id === "f" ? "failed" : "completed";
        await store().commitTransitions([commitOf(claimed, ended, { nowMs: T0 + 1, lease: "release" })]);
      }
      const retry = { type: "retry_requested" as const, reason: "fixed the refund API", by: "ops" };
      // A failed saga takes nothing but a retry; a completed one not even that.
      expect(await store().deliver("f", cancel(), T0 + 2)).toEqual({ accepted: false, reason: "terminal", status: "failed" });
      expect(await store().deliver("c", retry, T0 + 2)).toEqual({ accepted: false, reason: "terminal", status: "completed" });
      expect(await store().claimDue({ workerId: "w2", nowMs: T0 + 3, leaseMs: LEASE_MS, limit: 10, definitions: [ORDER, REFUND] })).toEqual([]);

      expect(await store().deliver("f", retry, T0 + 4)).toEqual({ accepted: true, seq: 1 });
      const [reopened, ...others] = await store().claimDue({ workerId: "w2", nowMs: T0 + 5, leaseMs: LEASE_MS, limit: 10, definitions: [ORDER, REFUND] });
      expect(others).toEqual([]);
      expect(reopened?.record.state).toMatchObject({ id: "f", status: "failed" });
      expect(reopened?.inbox).toEqual([{ seq: 1, event: retry, receivedAtMs: T0 + 4 }]);
      // Now leased: it is due again only if that lease runs out.
      expect(await store().nextWakeAtMs([ORDER, REFUND])).toBe(T0 + 5 + LEASE_MS + 1);
    });

    it.each([
      ["skip", { type: "skip_requested" as const, step: "reserve-payment", reason: "refunded by hand", by: "ops" }],
      ["resolve", { type: "resolve_requested" as const, reason: "settled with the customer", by: "ops" }],
    ])("takes an operator's %s for a failed instance, not for an ended one, and hands it to the next claim", async (_name, repair) => {
      await create(store(), "f");
      await create(store(), "c");
      for (const claimed of await claim(store(), "w1", T0, ["c", "f"])) {
        const ended = sagaCompleted(claimed.record.state, T0 + 1);
        ended.state.status = claimed.record.state.id === "f" ? "failed" : "completed";
        await store().commitTransitions([commitOf(claimed, ended, { nowMs: T0 + 1, lease: "release" })]);
      }
      expect(await store().deliver("c", repair, T0 + 2)).toEqual({ accepted: false, reason: "terminal", status: "completed" });
      expect(await store().deliver("f", repair, T0 + 2)).toEqual({ accepted: true, seq: 1 });
      const [taken, ...others] = await store().claimDue({ workerId: "w2", nowMs: T0 + 3, leaseMs: LEASE_MS, limit: 10, definitions: [ORDER, REFUND] });
      expect(others).toEqual([]);
      expect(taken?.record.state).toMatchObject({ id: "f", status: "failed" });
      expect(taken?.inbox).toEqual([{ seq: 1, event: repair, receivedAtMs: T0 + 2 }]);
    });
  });

  describe("moveInstance", () => {
    it("moves an unleased instance onto another version of its definition, fencing out older claims, with its history", async () => {
      const created = await create(store(), "a");
      const moved = { ...structuredClone(created), definitionVersion: 3, updatedAtMs: T0 + 5 };
      const entry = { type: "migrated" as const, atMs: T0 + 5, fromVersion: 1, toVersion: 3, reason: "steps line up", by: "ops" };
      expect(await store().moveInstance({ sagaId: "a", epoch: 0, nowMs: T0 + 5, state: moved, history: [entry] })).toEqual({ moved: true });

      const record = await store().getInstance("a");
      expect(record).toMatchObject({ epoch: 1, leaseOwner: null, state: { definitionVersion: 3 } });
      const history = await store().getHistory("a");
      expect(history.at(-1)).toMatchObject({ seq: history.length, type: "migrated", toVersion: 3 });
      expect(history.at(-1)?.workerId).toBeUndefined();
      // Claimed now by workers of the new version only.
      expect(await store().claimDue({ workerId: "w1", nowMs: T0 + 6, leaseMs: LEASE_MS, limit: 10, definitions: [ORDER] })).toEqual([]);
      const [claimed] = await store().claimDue({ workerId: "w2", nowMs: T0 + 6, leaseMs: LEASE_MS, limit: 10, definitions: [definitionKey("order", 3)] });
      expect(claimed?.record).toMatchObject({ epoch: 2, state: { id: "a", definitionVersion: 3 } });
      expect(await store().countUnfinishedByDefinition()).toEqual([{ definitionName: "order", definitionVersion: 3, count: 1 }]);
    });

    it("refuses, writing nothing, an instance that is leased, changed since it was read, or unknown", async () => {
      const created = await create(store(), "b");
      const [claimed] = await claim(store(), "w1", T0, ["b"]);
      if (claimed === undefined) throw new Error("claim failed");
      const moved = { ...structuredClone(created), definitionVersion: 3 };
      expect(await store().moveInstance({ sagaId: "b", epoch: claimed.record.epoch, nowMs: T0 + 1, state: moved, history: [] })).toEqual({ moved: false, reason: "leased" });
      // Once the lease ran out, the epoch read before the claim is stale.
      expect(await store().moveInstance({ sagaId: "b", epoch: 0, nowMs: T0 + LEASE_MS + 1, state: moved, history: [] })).toEqual({ moved: false, reason: "changed" });
      expect(await store().moveInstance({ sagaId: "nobody", epoch: 0, nowMs: T0, state: { ...moved, id: "nobody" }, history: [] })).toEqual({ moved: false, reason: "not_found" });
      expect((await store().getInstance("b"))?.state.definitionVersion).toBe(1);
      expect((await store().getHistory("b")).some((h) => h.type === ("migrated" as string))).toBe(false);
    });
  });

  describe("leases", () => {
    it("releaseLease makes a due instance claimable at once; a stale or foreign release is refused", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      const lease = { sagaId: "a", epoch: claimed.record.epoch };

      expect(await store().releaseLease("w2", lease)).toBe(false);
      expect(await store().releaseLease("w1", { sagaId: "a", epoch: 0 })).toBe(false);
      expect(await store().releaseLease("w1", lease)).toBe(true);
      expect(await store().releaseLease("w1", lease)).toBe(false);

      const [again] = await claim(store(), "w2", T0 + 1, ["a"]);
      expect(again?.record).toMatchObject({ epoch: 2, leaseOwner: "w2" });
      expect(await store().releaseLease("w1", lease)).toBe(false);
    });

    it("renewLeases extends the leases still held and answers false for the lost ones", async () => {
      await create(store(), "a");
      await create(store(), "b");
      const [a, b] = await claim(store(), "w1", T0, ["a", "b"]);
      if (a === undefined || b === undefined) throw new Error("claim failed");
      expect(await store().renewLeases("w1", [{ sagaId: "a", epoch: 1 }], T0 + LEASE_MS + 10, T0 + 1)).toEqual([true]);
      await claim(store(), "w2", T0 + LEASE_MS + 1, ["b"]);

      const renewed = await store().renewLeases(
        "w1",
        [
          { sagaId: "a", epoch: 1 },
          { sagaId: "b", epoch: 1 },
          { sagaId: "ghost", epoch: 1 },
        ],
        T0 + 3 * LEASE_MS,
        T0 + LEASE_MS + 2,
      );

      expect(renewed).toEqual([true, false, false]);
      expect(await store().getInstance("a")).toMatchObject({ leaseOwner: "w1", leaseExpiresAtMs: T0 + 3 * LEASE_MS });
      expect(await store().getInstance("b")).toMatchObject({ leaseOwner: "w2", epoch: 2, leaseExpiresAtMs: T0 + 2 * LEASE_MS + 1 });
      await claim(store(), "w3", T0 + 2 * LEASE_MS, []);
    });

    it("renewLeases refuses a lease that ran out, even when nobody took it over", async () => {
      await create(store(), "a");
      const [a] = await claim(store(), "w1", T0, ["a"]);
      if (a === undefined) throw new Error("claim failed");
      const expired = T0 + LEASE_MS + 1;
      expect(await store().renewLeases("w1", [{ sagaId: "a", epoch: 1 }], expired + LEASE_MS, expired)).toEqual([false]);
      expect(await store().getInstance("a")).toMatchObject({ leaseOwner: "w1", epoch: 1, leaseExpiresAtMs: T0 + LEASE_MS });
      // The holder's commits stay refused, and the next claim takes the saga over.
      const [again] = await claim(store(), "w1", expired, ["a"]);
      expect(again?.record).toMatchObject({ epoch: 2, leaseOwner: "w1" });
    });
  });

  describe("nextWakeAtMs", () => {
    it("is the earliest time a claim of the listed definitions could succeed, or null", async () => {
      expect(await store().nextWakeAtMs([ORDER])).toBeNull();
      await create(store(), "refund", { plan: refundPlan, wakeAtMs: T0 + 1 });
      await create(store(), "done", { status: "compensated", wakeAtMs: null });
      await create(store(), "idle", { wakeAtMs: null });
      expect(await store().nextWakeAtMs([ORDER])).toBeNull();
      expect(await store().nextWakeAtMs([])).toBeNull();

      await create(store(), "later", { wakeAtMs: T0 + 700 });
      await create(store(), "held", { wakeAtMs: T0 + 5 });
      await claim(store(), "w1", T0 + 5, ["refund", "held"], 2);
      expect(await store().nextWakeAtMs([ORDER])).toBe(T0 + 700);
      expect(await store().nextWakeAtMs([ORDER, REFUND])).toBe(T0 + 700);

      // A held lease counts from the first millisecond a claim could take it over.
      await store().renewLeases("w1", [{ sagaId: "held", epoch: 1 }], T0 + 200, T0 + 6);
      expect(await store().nextWakeAtMs([ORDER])).toBe(T0 + 201);

      expect(await store().deliver("later", cancel(), T0 + 50)).toMatchObject({ accepted: true });
      expect(await store().nextWakeAtMs([ORDER])).toBe(T0 + 50);
    });
  });
}

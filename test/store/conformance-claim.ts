import { describe, expect, it } from "vitest";
import type { SagaStore } from "../../src/store/saga-store.js";
import { claim, commitOf, create, expectInvalidArgument, LEASE_MS, newSaga, ORDER, refundPlan, sagaCompleted, T0 } from "./fixtures.js";

/** Which instances a claim takes, and what it does to them. */
export function describeClaimCases(store: () => SagaStore): void {
  describe("claimDue", () => {
    it("takes only due, non-terminal, unleased, listed instances, oldest wake-up first, bumping epoch and leasing", async () => {
      await create(store(), "later", { wakeAtMs: T0 + 10 });
      await create(store(), "sooner", { wakeAtMs: T0 + 5 });
      await create(store(), "not-due", { wakeAtMs: T0 + 100 });
      await create(store(), "waits-for-nothing", { wakeAtMs: null });
      await create(store(), "unlisted", { plan: refundPlan });
      await create(store(), "done", { status: "completed", wakeAtMs: null });
      await store().createInstance({ ...newSaga("leased"), lease: { owner: "w0", expiresAtMs: T0 + 1_000 } });

      const claimed = await store().claimDue({ workerId: "w1", nowMs: T0 + 50, leaseMs: LEASE_MS, limit: 10, definitions: [ORDER] });

      expect(claimed.map((c) => c.record.state.id)).toEqual(["sooner", "later"]);
      for (const { record, inbox } of claimed) {
        expect(record).toMatchObject({ epoch: 1, leaseOwner: "w1", leaseExpiresAtMs: T0 + 50 + LEASE_MS });
        expect(inbox).toEqual([]);
        expect(await store().getInstance(record.state.id)).toEqual(record);
      }
      expect((await store().getInstance("not-due"))?.epoch).toBe(0);
      expect(await store().getInstance("leased")).toMatchObject({ epoch: 1, leaseOwner: "w0" });
    });

    it("claims instances of every listed definition and none when the list is empty", async () => {
      await create(store(), "order-1");
      await create(store(), "refund-1", { plan: refundPlan, wakeAtMs: T0 + 1 });
      expect(await store().claimDue({ workerId: "w1", nowMs: T0 + 5, leaseMs: LEASE_MS, limit: 10, definitions: [] })).toEqual([]);
      await claim(store(), "w1", T0 + 5, ["order-1", "refund-1"]);
    });

    it("respects the limit, leaving the rest for the next claim", async () => {
      await create(store(), "a", { wakeAtMs: T0 + 3 });
      await create(store(), "b", { wakeAtMs: T0 + 1 });
      await create(store(), "c", { wakeAtMs: T0 + 2 });
      await claim(store(), "w1", T0 + 10, ["b", "c"], 2);
      await claim(store(), "w2", T0 + 10, ["a"], 2);
      await claim(store(), "w3", T0 + 10, [], 2);
    });

    it("claims nothing with limit 0 and refuses a negative or fractional limit", async () => {
      await create(store(), "a");
      await claim(store(), "w1", T0, [], 0);
      await expectInvalidArgument(store().claimDue({ workerId: "w1", nowMs: T0, leaseMs: LEASE_MS, limit: -1, definitions: [ORDER] }), "limit");
      await expectInvalidArgument(store().claimDue({ workerId: "w1", nowMs: T0, leaseMs: LEASE_MS, limit: 1.5, definitions: [ORDER] }), "limit");
      expect((await store().getInstance("a"))?.epoch).toBe(0);
    });

    it("gives nothing to a second worker while the lease holds, even at its last millisecond", async () => {
      await create(store(), "a");
      const [first] = await claim(store(), "w1", T0, ["a"]);
      await claim(store(), "w2", T0 + 1, []);
      await claim(store(), "w2", T0 + LEASE_MS, []);
      expect(await store().getInstance("a")).toEqual(first?.record);
    });

    it("hands an expired lease to the next worker with epoch + 1", async () => {
      await create(store(), "a");
      await claim(store(), "w1", T0, ["a"]);
      const [second] = await claim(store(), "w2", T0 + LEASE_MS + 1, ["a"]);
      expect(second?.record).toMatchObject({ epoch: 2, leaseOwner: "w2", leaseExpiresAtMs: T0 + 2 * LEASE_MS + 1 });
    });

    it("never claims a terminal instance, however late", async () => {
      await create(store(), "a");
      const [claimed] = await claim(store(), "w1", T0, ["a"]);
      if (claimed === undefined) throw new Error("claim failed");
      const outcome = await store().commitTransitions([commitOf(claimed, sagaCompleted(claimed.record.state, T0 + 1), { nowMs: T0 + 1, lease: "release" })]);
      expect(outcome).toEqual([{ ok: true }]);
      await claim(store(), "w2", T0 + 1_000_000_000, []);
      expect(await store().nextWakeAtMs([ORDER])).toBeNull();
    });
  });
}

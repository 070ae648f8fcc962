import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/errors.js";
import type { SagaStore } from "../../src/store/saga-store.js";
import type { ConformanceOptions } from "./conformance.js";
import { claim, create, expectInvalidArgument, LEASE_MS, newSaga, ORDER, T0 } from "./fixtures.js";

/** Creating instances and reading them back. */
export function describeCreateCases(store: () => SagaStore, options: ConformanceOptions): void {
  describe("createInstance and reads", () => {
    it("round-trips a new instance: state unchanged, epoch 0, no lease, history numbered from 1", async () => {
      await store().init(); // a second init must be harmless
      const { state, history } = newSaga("saga-1", { key: "order-o1" });
      const result = await store().createInstance({ state, history });

      expect(result).toEqual({
        created: true,
        record: { state, epoch: 0, leaseOwner: null, leaseExpiresAtMs: null, inboxSeq: 0, inboxAppliedSeq: 0 },
      });
      expect(await store().getInstance("saga-1")).toEqual(result.record);
      expect(await store().findByIdempotencyKey("order-o1")).toEqual(result.record);
      const stored = await store().getHistory("saga-1");
      expect(stored).toEqual([{ ...history[0], seq: 1 }]);
      expect(stored[0]).not.toHaveProperty("workerId");
    });

    it("answers null and [] for an unknown instance or key", async () => {
      expect(await store().getInstance("nope")).toBeNull();
      expect(await store().findByIdempotencyKey("nope")).toBeNull();
      expect(await store().getHistory("nope")).toEqual([]);
    });

    it("returns the first instance for a reused idempotency key and writes nothing", async () => {
      const first = await store().createInstance(newSaga("saga-1", { key: "k" }));
      const second = await store().createInstance(newSaga("saga-2", { key: "k", nowMs: T0 + 5 }));

      expect(second).toEqual({ created: false, record: first.record });
      expect(await store().getInstance("saga-2")).toBeNull();
      expect(await store().getHistory("saga-1")).toHaveLength(1);
      expect(await store().getHistory("saga-2")).toEqual([]);
      expect((await store().countByStatus()).running).toBe(1);
    });

    it("creates an instance already leased at epoch 1 when asked, and records the writer in its history", async () => {
      const result = await store().createInstance({ ...newSaga("saga-1"), lease: { owner: "w1", expiresAtMs: T0 + LEASE_MS } });

      expect(result.record).toMatchObject({ epoch: 1, leaseOwner: "w1", leaseExpiresAtMs: T0 + LEASE_MS });
      expect(await store().getHistory("saga-1")).toMatchObject([{ seq: 1, workerId: "w1", epoch: 1 }]);
      await claim(store(), "w2", T0 + 1, []);
    });

    it("refuses a second instance with an id already in use, changing nothing", async () => {
      await create(store(), "saga-1");
      const again = newSaga("saga-1", { nowMs: T0 + 9 });
      await expectInvalidArgument(store().createInstance(again), "state.id");
      expect((await store().getInstance("saga-1"))?.state.createdAtMs).toBe(T0);
      expect(await store().getHistory("saga-1")).toHaveLength(1);
    });

    it("returns copies from the read calls: mutating what they gave changes nothing stored", async () => {
      await create(store(), "saga-1");
      const read = await store().getInstance("saga-1");
      if (read === null) throw new Error("instance vanished");
      read.state.recoveries = 99;
      read.state.steps.pop();
      const byKey = await store().findByIdempotencyKey("none");
      expect(byKey).toBeNull();
      const listed = await store().listInstances({ limit: 10 });
      const first = listed.items[0];
      if (first === undefined) throw new Error("nothing listed");
      first.status = "failed";
      const readHistory = await store().getHistory("saga-1");
      readHistory.pop();

      const again = await store().getInstance("saga-1");
      expect(again?.state.status).toBe("running");
      expect(again?.state.steps).toHaveLength(3);
      expect(again?.state.recoveries).toBe(0);
      expect(await store().getHistory("saga-1")).toHaveLength(1);
    });

    // Not registered for stores that keep written objects by reference (the memory store, by design:
    // see its header); the "read calls return copies" case below holds for every store.
    const itCopies = options.keepsWrittenObjects === true ? () => undefined : it;
    itCopies("keeps its own copies: mutating what went in or came out changes nothing stored", async () => {
      const { state, history } = newSaga("saga-1");
      const result = await store().createInstance({ state, history });
      state.status = "failed";
      state.steps.pop();
      result.record.state.input = "mutated";
      const read = await store().getInstance("saga-1");
      if (read === null) throw new Error("instance vanished");
      read.state.recoveries = 99;
      history.push({ type: "cancel_requested", atMs: T0, reason: "mutated", by: "test" });
      const readHistory = await store().getHistory("saga-1");
      readHistory.pop();

      const again = await store().getInstance("saga-1");
      expect(again?.state.status).toBe("running");
      expect(again?.state.steps).toHaveLength(3);
      expect(again?.state.input).toMatchObject({ orderId: "saga-1" });
      expect(again?.state.recoveries).toBe(0);
      expect(await store().getHistory("saga-1")).toHaveLength(1);
    });

    it("rejects every call with StoreUnavailableError once closed, and closes twice without error", async () => {
      await create(store(), "saga-1");
      await store().close();
      await store().close();
      await expect(store().getInstance("saga-1")).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store().claimDue({ workerId: "w", nowMs: T0, leaseMs: 1, limit: 1, definitions: [ORDER] })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    });
  });
}

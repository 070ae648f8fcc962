import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../src/store/memory/index.js";
import { describeStoreConformance } from "./conformance.js";
import { cancel, commitOf, newSaga, ORDER, orderPlan, REFUND, refundPlan, sagaCompleted, T0 } from "./fixtures.js";

describeStoreConformance(
  "MemoryStore",
  () => {
    const store = createMemoryStore();
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

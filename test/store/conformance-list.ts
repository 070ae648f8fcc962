import { describe, expect, it } from "vitest";
import type { SagaState } from "../../src/domain/state.js";
import { SAGA_STATUSES, type SagaStatus } from "../../src/domain/status.js";
import type { ListQuery, SagaStore } from "../../src/store/saga-store.js";
import { claim, commitOf, create, expectInvalidArgument, refundPlan, sagaCompleted, T0 } from "./fixtures.js";

/** Reads every page of a query, checking each page's size. */
async function listAll(store: SagaStore, query: Omit<ListQuery, "cursor">): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.listInstances(cursor === undefined ? query : { ...query, cursor });
    pages++;
    expect(page.items.length).toBeLessThanOrEqual(query.limit);
    if (page.nextCursor !== null) expect(page.items).toHaveLength(query.limit);
    ids.push(...page.items.map((state: SagaState) => state.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && pages < 100);
  return { ids, pages };
}

/** Listing and counting instances, as the CLI, API and dashboard do. */
export function describeListCases(store: () => SagaStore): void {
  describe("listInstances and countByStatus", () => {
    it("lists newest first, ties broken by id descending, returning whole states", async () => {
      await create(store(), "m-1", { nowMs: T0 + 1 });
      await create(store(), "m-3", { nowMs: T0 + 2 });
      await create(store(), "m-2", { nowMs: T0 + 2 });
      const page = await store().listInstances({ limit: 10 });
      expect(page.items.map((s) => s.id)).toEqual(["m-3", "m-2", "m-1"]);
      expect(page.nextCursor).toBeNull();
      expect(page.items[2]).toEqual(await store().getInstance("m-1").then((r) => r?.state));
    });

    it("pages through every instance exactly once with the cursor, even across equal creation times", async () => {
      const expected: string[] = [];
      for (let i = 0; i < 23; i++) {
        const id = `s-${String(i).padStart(2, "0")}`;
        await create(store(), id, { nowMs: T0 + Math.floor(i / 4) });
        expected.push(id);
      }
      expected.sort().reverse();

      const byFives = await listAll(store(), { limit: 5 });
      expect(byFives).toEqual({ ids: expected, pages: 5 });
      // An exact multiple of the page size ends without an empty page.
      const filtered = await listAll(store(), { limit: 4, createdToMs: T0 + 5 });
      expect(filtered).toEqual({ ids: expected.filter((id) => Number(id.slice(2)) < 20), pages: 5 });
    });

    it("filters by status, definition name and a creation range [from, to)", async () => {
      await create(store(), "o-1", { nowMs: T0 });
      await create(store(), "o-2", { nowMs: T0 + 10 });
      await create(store(), "o-3", { nowMs: T0 + 20 });
      await create(store(), "r-1", { nowMs: T0 + 10, plan: refundPlan });
      const [claimed] = await claim(store(), "w1", T0 + 20, ["o-1"], 1);
      if (claimed === undefined) throw new Error("claim failed");
      await store().commitTransitions([commitOf(claimed, sagaCompleted(claimed.record.state, T0 + 21), { nowMs: T0 + 21 })]);
      const ids = async (query: ListQuery): Promise<string[]> => (await store().listInstances(query)).items.map((s) => s.id);

      expect(await ids({ limit: 10, statuses: ["completed"] })).toEqual(["o-1"]);
      expect(await ids({ limit: 10, statuses: ["running", "failed"] })).toEqual(["o-3", "r-1", "o-2"]);
      expect(await ids({ limit: 10, statuses: [] })).toHaveLength(4);
      expect(await ids({ limit: 10, definitionName: "refund" })).toEqual(["r-1"]);
      expect(await ids({ limit: 10, createdFromMs: T0 + 10, createdToMs: T0 + 20 })).toEqual(["r-1", "o-2"]);
      expect(await ids({ limit: 10, definitionName: "order", statuses: ["running"], createdFromMs: T0 + 1 })).toEqual(["o-3", "o-2"]);
    });

    it("refuses a malformed cursor, a limit outside 1–1000 and an unknown status", async () => {
      await create(store(), "a");
      const good = await store().listInstances({ limit: 1 });
      expect(good.nextCursor).toBeNull();
      await expectInvalidArgument(store().listInstances({ limit: 10, cursor: "not a cursor!" }), "cursor");
      await expectInvalidArgument(store().listInstances({ limit: 10, cursor: Buffer.from("x:y").toString("base64url") }), "cursor");
      await expectInvalidArgument(store().listInstances({ limit: 10, cursor: "" }), "cursor");
      for (const limit of [0, 1001, 2.5, Number.NaN]) await expectInvalidArgument(store().listInstances({ limit }), "limit");
      await expectInvalidArgument(store().listInstances({ limit: 10, statuses: ["sleeping" as "running"] }), "statuses");
      expect((await store().listInstances({ limit: 1000 })).items).toHaveLength(1);
    });

    it("counts instances per status, naming every status", async () => {
      const empty = await store().countByStatus();
      expect(Object.keys(empty).sort()).toEqual([...SAGA_STATUSES].sort());
      expect(Object.values(empty).every((n) => n === 0)).toBe(true);

      await create(store(), "a");
      await create(store(), "b");
      await create(store(), "c", { status: "compensating" });
      const [claimed] = await claim(store(), "w1", T0, ["a"], 1);
      if (claimed === undefined) throw new Error("claim failed");
      await store().commitTransitions([commitOf(claimed, sagaCompleted(claimed.record.state, T0 + 1), { nowMs: T0 + 1 })]);

      expect(await store().countByStatus()).toEqual({ running: 1, compensating: 1, completed: 1, compensated: 0, failed: 0 });
    });

    it("counts unfinished instances per definition version, ordered by name then version", async () => {
      expect(await store().countUnfinishedByDefinition()).toEqual([]);
      await create(store(), "o-1");
      await create(store(), "o-2", { status: "compensating" });
      await create(store(), "r-1", { plan: refundPlan });
      await create(store(), "o-3");
      const [done] = await claim(store(), "w1", T0, ["o-1"], 1);
      if (done === undefined) throw new Error("claim failed");
      await store().commitTransitions([commitOf(done, sagaCompleted(done.record.state, T0 + 1), { nowMs: T0 + 1, lease: "release" })]);
      expect(await store().countUnfinishedByDefinition()).toEqual([
        { definitionName: "order", definitionVersion: 1, count: 2 },
        { definitionName: "refund", definitionVersion: 2, count: 1 },
      ]);
    });

    it("counts starts by creation time and ends by end time per bucket, empty buckets included", async () => {
      const MINUTE = 60_000;
      const from = T0;
      await create(store(), "before", { nowMs: from - 1 });
      await create(store(), "a", { nowMs: from });
      await create(store(), "b", { nowMs: from + MINUTE - 1 });
      await create(store(), "c", { nowMs: from + 2 * MINUTE + 5 });
      await create(store(), "d", { nowMs: from + 2 * MINUTE + 6 });
      await create(store(), "after", { nowMs: from + 3 * MINUTE });
      // Each ends with the status given, at the time given; "before" ends inside the range although it started outside it.
      const endings: Array<[string, SagaStatus, number]> = [
        ["before", "completed", from + 10],
        ["a", "compensated", from + 2 * MINUTE],
        ["b", "failed", from + 2 * MINUTE + 1],
        ["c", "completed", from + 3 * MINUTE],
      ];
      const claimed = await claim(store(), "w1", from + 3 * MINUTE, ["before", "a", "b", "c", "d", "after"]);
      await store().commitTransitions(
        endings.map(([id, status, atMs]) => {
          const held = claimed.find((c) => c.record.state.id === id);
          if (held === undefined) throw new Error(`${id} was not claimed`);
          const ended = sagaCompleted(held.record.state, atMs);
          ended.state.status = status;
          return commitOf(held, ended, { nowMs: from + 3 * MINUTE, lease: "release" });
        }),
      );

      const buckets = await store().activity({ fromMs: from, toMs: from + 3 * MINUTE, bucketMs: MINUTE });
      expect(buckets).toEqual([
        { startMs: from, started: 2, completed: 1, compensated: 0, failed: 0 },
        { startMs: from + MINUTE, started: 0, completed: 0, compensated: 0, failed: 0 },
        { startMs: from + 2 * MINUTE, started: 2, completed: 0, compensated: 1, failed: 1 },
      ]);
      // The last bucket may be shorter than the others; the range's end stays exclusive.
      const uneven = await store().activity({ fromMs: from, toMs: from + 2 * MINUTE + 6, bucketMs: 2 * MINUTE });
      expect(uneven.map((b) => [b.startMs, b.started, b.compensated, b.failed])).toEqual([
        [from, 2, 0, 0],
        [from + 2 * MINUTE, 1, 1, 1],
      ]);
    });

    it("refuses an activity range that is empty, reversed, too finely bucketed or not in integers", async () => {
      await expectInvalidArgument(store().activity({ fromMs: T0, toMs: T0, bucketMs: 1000 }), "toMs");
      await expectInvalidArgument(store().activity({ fromMs: T0, toMs: T0 - 1, bucketMs: 1000 }), "toMs");
      await expectInvalidArgument(store().activity({ fromMs: 0.5, toMs: T0, bucketMs: 1000 }), "fromMs");
      await expectInvalidArgument(store().activity({ fromMs: T0, toMs: T0 + 60_000, bucketMs: 999 }), "bucketMs");
      await expectInvalidArgument(store().activity({ fromMs: T0, toMs: T0 + 86_400_001, bucketMs: 60_000 }), "bucketMs");
      expect(await store().activity({ fromMs: T0, toMs: T0 + 86_400_000, bucketMs: 60_000 })).toHaveLength(1440);
    });
  });
}

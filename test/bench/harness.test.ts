// The benchmark harness measures what it says and reports it in the documented shape. It never
// asserts a speed: timings on a shared machine prove nothing (DESIGN.md §7).
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SAGA_WRITES_IN_FLIGHT, sqliteSagaWritesCeiling } from "../../bench/ceilings.js";
import { addRatios, runSagaflowCell, runStoreAloneCell } from "../../bench/cells.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { measure, percentile, sagaflowLauncher, spread, type Window } from "../../bench/measure.js";
import { resultsTable, storeAloneTable, type ResultRow } from "../../bench/report.js";
import { measureEngineAlone } from "../../bench/engine-alone.js";
import { measureStoreAlone } from "../../bench/store-alone.js";
import { memoryTarget, sqliteTarget } from "../../bench/targets.js";
import { benchSagas } from "../../bench/workload.js";

const TINY: Window = { warmupMs: 0, warmupSagas: 4, minMs: 0, minSagas: 12, repeats: 3 };

function expectSpread(value: unknown): void {
  expect(Object.keys(value as object).sort()).toEqual(["max", "median", "min"]);
  const { median, min, max } = value as { median: number; min: number; max: number };
  for (const n of [median, min, max]) expect(Number.isFinite(n) && n > 0).toBe(true);
  expect(min).toBeLessThanOrEqual(median);
  expect(median).toBeLessThanOrEqual(max);
}

describe("bench harness", () => {
  it("spread and percentile", () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, null, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(spread([null])).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });

  it.each(["success", "compensate"] as const)("the engine alone decides the %s saga to its end, one sample per window", (scenario) => {
    // measureEngineAlone throws if a saga does not end as its scenario says.
    const row = measureEngineAlone(scenario, TINY);
    expect(row.scenario).toBe(scenario);
    expectSpread(row.sagasPerSec);
    expect(row.microsPerSaga).toBeCloseTo(1e6 / row.sagasPerSec.median);
  });

  it("measure keeps C sagas in flight and returns one sample per repeat", async () => {
    const open = await memoryTarget.open(3, [benchSagas.success, benchSagas.compensate]);
    try {
      const launcher = sagaflowLauncher(open.orchestrator, benchSagas.success, "completed");
      const { samples, totalSagas } = await measure({ launcher, concurrency: 3, window: TINY });
      launcher.dispose();
      expect(samples).toHaveLength(3);
      for (const s of samples) expect(s.sagas).toBeGreaterThanOrEqual(12);
      expect(totalSagas).toBeGreaterThanOrEqual(4 + 3 * 12);
      expect((await open.orchestrator.store.countByStatus()).completed).toBe(totalSagas);
    } finally {
      await open.close();
    }
  });

  it.each(["success", "compensate"] as const)("a %s row on the memory store has medians with min and max", async (scenario) => {
    const row = await runSagaflowCell(memoryTarget, scenario, 4, TINY, null, () => undefined);
    expect(row).toMatchObject({ store: "memory", scenario, concurrency: 4, durability: "none (process memory)" });
    for (const key of ["sagasPerSec", "p50Ms", "p99Ms"] as const) expectSpread(row[key]);
    expect(row.runs).toHaveLength(3);
    addRatios([row], []);
    expect(row.ratioToMemory).toBe(1);
    expect(resultsTable([row])).toContain(scenario);
  });

  it("a SQLite row counts commits and statements per saga", async () => {
    const row: ResultRow = await runSagaflowCell(sqliteTarget("FULL"), "compensate", 2, TINY, null, () => undefined);
    expectSpread(row.commitsPerSaga);
    expectSpread(row.statementsPerSaga);
    expect(row.commitsSource).toBe("store");
    expect(row.durability).toBe("synchronous=FULL");
  });

  it("the store alone writes whole sagas: each replayed saga ends completed with the engine's history", async () => {
    const open = await sqliteTarget("FULL").openStore();
    try {
      const samples = await measureStoreAlone(open.store, 3, TINY);
      expect(samples).toHaveLength(3);
      const counts = await open.store.countByStatus();
      expect(counts.completed).toBeGreaterThanOrEqual(4 + 3 * 12);
      expect(counts.running).toBe(0);
      const history = await open.store.getHistory("alone-0");
      expect(history.map((e) => e.type)).toEqual([
        "saga_started",
        "attempt_started",
        "attempt_succeeded",
        "attempt_started",
        "attempt_succeeded",
        "attempt_started",
        "attempt_succeeded",
        "saga_ended",
      ]);
      expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect((await open.store.getInstance("alone-0"))?.state).toMatchObject({ id: "alone-0", status: "completed" });
    } finally {
      await open.close();
      await open.dispose();
    }
  });

  it("the saga-writes ceiling writes whole sagas with the store's own statements: a store reads them back completed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sagaflow-ceiling-test-"));
    try {
      const path = join(dir, "ceiling.db");
      const ceiling = await sqliteSagaWritesCeiling("FULL", 0, { keepAt: path });
      expect(ceiling).toMatchObject({ store: "sqlite", durability: "synchronous=FULL", kind: "saga writes", rowsPerCommit: SAGA_WRITES_IN_FLIGHT });
      // Four transactions make a saga: its creation and one per step.
      expect(ceiling.sagasPerSec).toBeCloseTo((ceiling.commitsPerSec * SAGA_WRITES_IN_FLIGHT) / 4, 6);
      const store = await openSqliteStore({ path });
      try {
        // The warm-up alone ends one saga in every slot.
        const counts = await store.countByStatus();
        expect(counts.completed).toBeGreaterThanOrEqual(SAGA_WRITES_IN_FLIGHT);
        const last = `bench-ceiling-${SAGA_WRITES_IN_FLIGHT - 1}`;
        expect((await store.getInstance(last))?.state).toMatchObject({ id: last, status: "completed" });
        const history = await store.getHistory(last);
        expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect(history.at(-1)?.type).toBe("saga_ended");
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a success row's ÷store is its rate over the same store's alone", async () => {
    const alone = await runStoreAloneCell(memoryTarget, 4, TINY, () => undefined);
    expectSpread(alone.sagasPerSec);
    const row = await runSagaflowCell(memoryTarget, "success", 4, TINY, null, () => undefined);
    addRatios([row], [], [alone]);
    expect(row.ratioToStoreAlone).toBeCloseTo(row.sagasPerSec.median / alone.sagasPerSec.median, 10);
    expect(storeAloneTable([alone])).toContain("none (process memory)");
  });

  it("rejects a saga that ends in the wrong status", async () => {
    const open = await memoryTarget.open(1, [benchSagas.success, benchSagas.compensate]);
    try {
      const launcher = sagaflowLauncher(open.orchestrator, benchSagas.compensate, "completed");
      await expect(measure({ launcher, concurrency: 1, window: TINY })).rejects.toThrow(/ended compensated, expected completed/);
      launcher.dispose();
    } finally {
      await open.close();
    }
  });
});

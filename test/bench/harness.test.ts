// The benchmark harness measures what it says and reports it in the documented shape. It never
// asserts a speed: timings on a shared machine prove nothing (DESIGN.md §7).
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SAGA_WRITES_IN_FLIGHT, sqliteSagaWritesCeiling } from "../../bench/ceilings.js";
import { addRatios, rowOf, runSagaflowCell, runStoreAloneCell, timeCappedNote } from "../../bench/cells.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { measure, percentile, QUICK_WINDOW_MAX_MS, sagaflowLauncher, spread, windowFor, type Sample, type SagaLauncher, type Window } from "../../bench/measure.js";
import { resultsTable, runtimeAloneTable, storeAloneTable, type ResultRow } from "../../bench/report.js";
import { measureEngineAlone } from "../../bench/engine-alone.js";
import { measureEngineAloneApart, measureRuntimeAloneApart, runMemoryAloneApart, runMemoryRowApart } from "../../bench/apart.js";
import { dbosCellFits } from "../../bench/peers/dbos.js";
import { plainStackTraces } from "../../bench/child.js";
import { measureRuntimeAlone, NullStore } from "../../bench/null-store.js";
import type { CommitOutcome, WriteBatch, WriteBatchResult } from "../../src/store/saga-store.js";
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
    // A saga's states and history entries are new objects at every decision.
    expect(row.allocatedKiBPerSaga).toBeGreaterThan(1);
    expect(row.gcShare?.max).toBeLessThan(1);
  });

  it("the engine alone runs apart in a child process and returns its row; a failure there reaches the parent as the child's error", async () => {
    const row = await measureEngineAloneApart("success", TINY);
    expect(row.scenario).toBe("success");
    expectSpread(row.sagasPerSec);
    expect(row.allocatedKiBPerSaga).toBeGreaterThan(1);
    // A scenario the engine cannot end as expected fails in the child, and the parent hears why.
    await expect(measureEngineAloneApart("no-such-scenario" as "success", TINY)).rejects.toThrow(/TypeError: Cannot read properties of undefined \(reading 'plan'\)/);
  }, 30_000);

  it("the memory store's cells and the runtime alone run apart in child processes, reporting each repeat and returning their rows", async () => {
    let repeats = 0;
    const row = await runMemoryRowApart("compensate", 4, TINY, () => repeats++);
    expect(row).toMatchObject({ store: "memory", scenario: "compensate", concurrency: 4, durability: "none (process memory)" });
    expect(row.runs).toHaveLength(3);
    expect(repeats).toBe(3);
    expectSpread(row.sagasPerSec);
    let reported = 0;
    const alone = await runMemoryAloneApart(4, TINY, () => reported++);
    expect(alone).toMatchObject({ store: "memory", concurrency: 4 });
    expect(alone.runs).toHaveLength(3);
    expect(reported).toBe(1);
    let runtimeRepeats = 0;
    const forgetting = await measureRuntimeAloneApart(4, TINY, () => runtimeRepeats++, "memory-forgetting");
    expect(forgetting).toMatchObject({ over: "memory-forgetting", concurrency: 4, writesPerSaga: null });
    expect(runtimeRepeats).toBe(3);
    // Over the null store the row counts the writes asked of it, across the process boundary too.
    expect(await measureRuntimeAloneApart(4, TINY, () => undefined)).toMatchObject({ over: "null", writesPerSaga: 4 });
  }, 30_000);

  it("measure keeps C sagas in flight and returns one sample per repeat", async () => {
    const open = await memoryTarget.open(3, [benchSagas.success, benchSagas.compensate]);
    try {
      const launcher = sagaflowLauncher(open.orchestrator, benchSagas.success, "completed");
      const { samples, totalSagas } = await measure({ launcher, concurrency: 3, window: TINY });
      launcher.dispose();
      expect(samples).toHaveLength(3);
      for (const s of samples) {
        expect(s.sagas).toBeGreaterThanOrEqual(12);
        expect(s.timeCapped).toBe(false);
      }
      expect(totalSagas).toBeGreaterThanOrEqual(4 + 3 * 12);
      expect((await open.orchestrator.store.countByStatus()).completed).toBe(totalSagas);
    } finally {
      await open.close();
    }
  });

  it("a window with maxMs ends at the first saga after it, however few ended, and says it was cut", async () => {
    // Each saga takes 25 ms: two in flight end about 80 a second, far from the 1,000 a window asks.
    const slow: SagaLauncher = { launch: (_seq, done) => void setTimeout(() => done(), 25) };
    const window: Window = { warmupMs: 0, warmupSagas: 1000, minMs: 0, minSagas: 1000, repeats: 2, maxMs: 150 };
    const { samples, totalSagas } = await measure({ launcher: slow, concurrency: 2, window });
    expect(samples).toHaveLength(2);
    for (const s of samples) {
      expect(s.timeCapped).toBe(true);
      expect(s.windowMs).toBeGreaterThanOrEqual(150);
      expect(s.sagas).toBeGreaterThan(0);
      expect(s.sagas).toBeLessThan(1000);
      expect(s.sagasPerSec).toBeCloseTo((s.sagas / s.windowMs) * 1000);
    }
    // The warm-up was cut too, or the run would have needed 1,000 sagas before its first window.
    expect(totalSagas).toBeLessThan(1000);
  });

  it("only the quick run caps its windows, and the report names the cells it cut short", () => {
    expect(windowFor("quick", 512).maxMs).toBe(QUICK_WINDOW_MAX_MS);
    expect(windowFor("full", 512).maxMs).toBeUndefined();
    const sample = (timeCapped: boolean): Sample => ({ sagasPerSec: 70, p50Ms: 7000, p99Ms: 7500, sagas: 70, windowMs: 1000, commitsPerSaga: null, statementsPerSaga: null, timeCapped, allocatedKiBPerSaga: null, gcShare: null });
    const cut = rowOf({ store: "dbos", scenario: "success", concurrency: 512, durability: "synchronous_commit=on", faster: false }, [sample(true), sample(false), sample(true)]);
    const whole = rowOf({ store: "memory", scenario: "success", concurrency: 512, durability: "none (process memory)", faster: false }, [sample(false)]);
    expect(timeCappedNote([whole], [], [], 1000)).toBeNull();
    const note = timeCappedNote(
      [whole, cut],
      [{ store: "sqlite", durability: "synchronous=FULL", concurrency: 64, sagasPerSec: { median: 1, min: 1, max: 1 }, runs: [sample(true)] }],
      [{ over: "null", concurrency: 512, sagasPerSec: { median: 1, min: 1, max: 1 }, writesPerSaga: 4, allocatedKiBPerSaga: null, gcShare: null, runs: [sample(false), sample(true)] }],
      1000,
    );
    expect(note).toContain("windows cut at 1 s");
    expect(note).toContain("dbos synchronous_commit=on success C=512 (2 of 3)");
    expect(note).toContain("sqlite synchronous=FULL alone C=64 (1 of 1)");
    expect(note).toContain("runtime alone C=512 (1 of 2)");
    expect(note).not.toContain("memory");
  });

  it("the runtime alone runs the success saga over a store that keeps nothing, asking it for the writes a real store takes", async () => {
    const row = await measureRuntimeAlone(4, TINY);
    expect(row.concurrency).toBe(4);
    expect(row.runs).toHaveLength(3);
    expectSpread(row.sagasPerSec);
    // One create (the start with the first attempt) and one commit per step: what a SQLite row counts at C=1.
    expect(row.writesPerSaga).toBe(4);
    // Every saga allocates its states, history entries and step contexts: a few KiB, never none.
    expect(row.allocatedKiBPerSaga?.min).toBeGreaterThan(1);
    expect(row.allocatedKiBPerSaga?.max).toBeLessThan(1024);
    expect(row.gcShare?.min).toBeGreaterThanOrEqual(0);
    expect(row.gcShare?.max).toBeLessThan(1);
    expect(runtimeAloneTable([row])).toContain("writes/saga");
    expect(runtimeAloneTable([row])).toContain("KiB alloc/saga");
  });

  it("the same loop runs over the memory store forgetting each saga as it ends, its row naming that store and counting no writes", async () => {
    const row = await measureRuntimeAlone(4, TINY, undefined, "memory-forgetting");
    expect(row).toMatchObject({ over: "memory-forgetting", concurrency: 4, writesPerSaga: null });
    expect(row.runs).toHaveLength(3);
    expectSpread(row.sagasPerSec);
    const table = runtimeAloneTable([row]);
    expect(table).toContain("memory store forgetting ended sagas");
    expect(table.split("\n")[2]).toMatch(/ – /);
  });

  it("the bench's processes format stack traces without source maps, as compiled code does", () => {
    const before = process.sourceMapsEnabled;
    process.setSourceMapsEnabled(true);
    try {
      plainStackTraces();
      expect(process.sourceMapsEnabled).toBe(false);
    } finally {
      process.setSourceMapsEnabled(before);
    }
  });

  it("a quick run's DBOS cell runs only if it is expected to end by the deadline", () => {
    expect(dbosCellFits(undefined, 1e12, new Map([[512, 1e9]]), 512)).toBe(true);
    // Nothing measured yet: the first cell runs while the deadline has not passed.
    expect(dbosCellFits(10_000, 10_000, new Map(), 1)).toBe(true);
    expect(dbosCellFits(10_000, 10_001, new Map(), 1)).toBe(false);
    const took = new Map([
      [1, 5_000],
      [64, 6_000],
    ]);
    // The same concurrency's last cell is the estimate…
    expect(dbosCellFits(10_000, 5_000, took, 1)).toBe(true);
    expect(dbosCellFits(10_000, 5_001, took, 1)).toBe(false);
    // …and before one ran, the longest cell so far.
    expect(dbosCellFits(10_000, 4_000, took, 512)).toBe(true);
    expect(dbosCellFits(10_000, 4_001, took, 512)).toBe(false);
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

  it("the store alone fails loudly when the store refuses a replayed write, rather than counting the saga", async () => {
    const refusing = new (class extends NullStore {
      override writeBatch(batch: WriteBatch): Promise<WriteBatchResult> {
        return super.writeBatch(batch).then((result) => ({ ...result, commits: result.commits.map((): CommitOutcome => ({ ok: false, reason: "fenced" })) }));
      }
    })();
    await expect(measureStoreAlone(refusing, 2, TINY)).rejects.toThrow(/store-alone commit of alone-\d+ was refused: fenced/);
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

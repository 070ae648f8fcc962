// The goals check reads one run's figures; here they are made up, so what is checked is the
// reading (which row, which ceiling, met or not, the bound beside it), never a speed.
import { describe, expect, it } from "vitest";
import { rowOf } from "../../bench/cells.js";
import { checkGoals } from "../../bench/goals.js";
import type { Ceiling } from "../../bench/ceilings.js";
import type { Spread } from "../../bench/measure.js";
import { goalsTable, type BenchReport, type ResultRow, type StoreAloneRow } from "../../bench/report.js";

const at = (median: number): Spread => ({ median, min: median, max: median });

function result(store: ResultRow["store"], durability: string, concurrency: number, sagasPerSec: number, p50Ms: number, commits: number | null = null): ResultRow {
  const sample = { sagasPerSec, p50Ms, p99Ms: p50Ms * 2, sagas: 1000, windowMs: 1000, commitsPerSaga: commits, statementsPerSaga: null, timeCapped: false, allocatedKiBPerSaga: null, gcShare: null };
  return rowOf({ store, scenario: "success", concurrency, durability, faster: false }, [sample]);
}

function storeAlone(store: StoreAloneRow["store"], durability: string, concurrency: number, sagasPerSec: number): StoreAloneRow {
  return { store, durability, concurrency, sagasPerSec: at(sagasPerSec), runs: [] };
}

const ceilings: Ceiling[] = [
  { store: "sqlite", durability: "synchronous=FULL", kind: "one-row", clients: 1, rowsPerCommit: 1, commitsPerSec: 2000, rowsPerSec: 2000 },
  { store: "postgres", durability: "synchronous_commit=on", kind: "one-row", clients: 1, rowsPerCommit: 1, commitsPerSec: 4000, rowsPerSec: 4000 },
];

function figures(overrides: Partial<BenchReport> = {}): Pick<BenchReport, "results" | "ceilings" | "storeAlone" | "engineAlone" | "memory" | "recovery"> & Partial<Pick<BenchReport, "runtimeAlone">> {
  return {
    results: [
      result("postgres", "synchronous_commit=on", 1, 500, 2, 4),
      result("postgres", "synchronous_commit=on", 64, 6000, 10, 0.25),
      result("postgres", "synchronous_commit=on", 512, 6500, 70, 0.2),
      // A faster mode's row must never stand in for the default's.
      result("postgres", "synchronous_commit=off", 512, 12000, 40, 0.2),
      result("dbos", "synchronous_commit=on", 1, 100, 9, 14),
      result("dbos", "synchronous_commit=on", 64, 250, 250, 14),
      result("sqlite", "synchronous=FULL", 1, 800, 1.2, 4),
      result("sqlite", "synchronous=FULL", 512, 6000, 80, 0.01),
      result("memory", "none (process memory)", 512, 30000, 17),
    ],
    ceilings,
    engineAlone: [{ scenario: "success", sagasPerSec: at(250000), microsPerSaga: 4, allocatedKiBPerSaga: 7.9, gcShare: at(0.02) }],
    storeAlone: [storeAlone("sqlite", "synchronous=FULL", 512, 8400), storeAlone("memory", "none (process memory)", 512, 110000), storeAlone("postgres", "synchronous_commit=on", 512, 8200)],
    memory: [{ store: "memory", durability: "none (process memory)", inFlight: 10000, baselineRssMiB: 100, peakRssMiB: 180, rssGrowthMiB: 80, rssGrowthPer1000MiB: 8, heapGrowthMiB: 35, fillMs: 600, drainMs: 300 }],
    recovery: { store: "postgres", sagas: 10000, leaseMs: 1000, workerConcurrency: 512, fillMs: 3000, startToDoneMs: 1800, createToDoneMs: 1500, killToDoneMs: 2500, startToFirstMs: 900, counts: { completed: 10000 } },
    ...overrides,
  };
}

function goal(goals: ReturnType<typeof checkGoals>, id: string): ReturnType<typeof checkGoals>[number] {
  const found = goals.find((g) => g.id === id);
  if (found === undefined) throw new Error(`no goal ${id}`);
  return found;
}

describe("bench goals", () => {
  it("checks each goal against the matching row, with the same run's bound beside it", () => {
    const goals = checkGoals(figures());
    expect(goal(goals, "postgres-c64-vs-dbos")).toMatchObject({ status: "met", measured: 24 });
    expect(goal(goals, "postgres-c1-p50-vs-dbos")).toMatchObject({ status: "met" });
    expect(goal(goals, "postgres-c1-p50-vs-dbos").measured).toBeCloseTo(2 / 9);
    // The synchronous_commit=off row is faster but is not the default's.
    expect(goal(goals, "postgres-c512")).toMatchObject({ status: "not met", measured: 6500, bound: "the store alone (no engine) took 8,200/s" });
    expect(goal(goals, "postgres-c1-commits")).toMatchObject({ status: "met", measured: 4 });
    expect(goal(goals, "sqlite-c512")).toMatchObject({ status: "not met", measured: 6000, bound: "the store alone (no engine) took 8,400/s" });
    // 2,000 one-row commits/s: 0.5 ms each, so four in a row take about 2 ms.
    expect(goal(goals, "sqlite-c1-p50")).toMatchObject({ status: "not met", measured: 1.2 });
    expect(goal(goals, "sqlite-c1-p50").bound).toContain("≈ 2.00 ms");
    expect(goal(goals, "memory-c512")).toMatchObject({ status: "not met", measured: 30000 });
    // Store alone 110,000/s (9.1 µs a saga) and engine alone 250,000/s (4 µs): together 13.1 µs, ≤ 76,389/s.
    expect(goal(goals, "memory-c512").bound).toBe("the store alone (no engine) took 110,000/s, the engine alone 250,000/s: both together ≤ 76,389/s");
    expect(goal(goals, "rss-10k-in-flight").status).toBe("met");
    expect(goal(goals, "rss-10k-in-flight").measured).toBeCloseTo(83.886, 2);
    expect(goal(goals, "postgres-recovery-10k")).toMatchObject({ status: "met", measured: 1.8 });
    expect(goalsTable(goals)).toContain("In-memory, C=512: ≥ 150,000 sagas/s");
  });

  it("bounds the in-memory goal by the runtime over a store that keeps nothing too, at the goal's concurrency", () => {
    const runtimeAlone = (concurrency: number, sagasPerSec: number) => ({ over: "null" as const, concurrency, sagasPerSec: at(sagasPerSec), writesPerSaga: 4, allocatedKiBPerSaga: null, gcShare: null, runs: [] });
    const goals = checkGoals(figures({ runtimeAlone: [runtimeAlone(64, 90000), runtimeAlone(512, 60000)] }));
    expect(goal(goals, "memory-c512").bound).toBe(
      "the store alone (no engine) took 110,000/s, the engine alone 250,000/s: both together ≤ 76,389/s; the runtime and engine over a store that keeps nothing 60,000/s",
    );
  });

  it("bounds the in-memory goal by the same row over a store forgetting ended sagas, never taking that row for the runtime alone", () => {
    const row = (over: "null" | "memory-forgetting", sagasPerSec: number) => ({ over, concurrency: 512, sagasPerSec: at(sagasPerSec), writesPerSaga: null, allocatedKiBPerSaga: null, gcShare: null, runs: [] });
    // The forgetting row first: a lookup by concurrency alone would read it as the runtime's.
    const goals = checkGoals(figures({ runtimeAlone: [row("memory-forgetting", 140000), row("null", 60000)] }));
    expect(goal(goals, "memory-c512").bound).toBe(
      "the store alone (no engine) took 110,000/s, the engine alone 250,000/s: both together ≤ 76,389/s; the runtime and engine over a store that keeps nothing 60,000/s; the same row with the store forgetting each saga as it ends (keepEnded: 0) 140,000/s",
    );
    expect(goal(goals, "memory-c512").status).toBe("not met");
  });

  it("says how much of the runtime's time went to garbage collection, when the run measured it", () => {
    const runtimeAlone = { over: "null" as const, concurrency: 512, sagasPerSec: at(60000), writesPerSaga: 4, allocatedKiBPerSaga: at(13.43), gcShare: at(0.287), runs: [] };
    const goals = checkGoals(figures({ runtimeAlone: [runtimeAlone] }));
    expect(goal(goals, "memory-c512").bound).toContain("nothing 60,000/s (29% of it in garbage collection, 13.4 KiB allocated a saga)");
  });

  it("bounds the SQLite goal by the same run's saga-writes ceiling with the default durability, not a faster mode's", () => {
    const sagaWrites = (durability: string, sagasPerSec: number): Ceiling => ({
      store: "sqlite",
      durability,
      kind: "saga writes",
      clients: 1,
      rowsPerCommit: 512,
      commitsPerSec: (sagasPerSec * 4) / 512,
      rowsPerSec: sagasPerSec * 4,
      sagasPerSec,
    });
    const goals = checkGoals(figures({ ceilings: [...ceilings, sagaWrites("synchronous=NORMAL", 40000), sagaWrites("synchronous=FULL", 16000)] }));
    // 16,000/s is 62.5 µs a saga; 20,000/s leaves 50 µs for everything.
    expect(goal(goals, "sqlite-c512")).toMatchObject({
      status: "not met",
      bound: "the store alone (no engine) took 8,400/s; SQLite running only Sagaflow's statements, no engine: 16,000/s (62.5 µs/saga of the 50.0 µs the goal allows)",
    });
  });

  it("says what was not measured, and why, instead of guessing", () => {
    const goals = checkGoals(
      figures({
        results: [result("sqlite", "synchronous=FULL", 512, 21000, 20, 0.01)],
        ceilings: [],
        storeAlone: [],
        memory: { skipped: "not asked for" },
        recovery: { skipped: "no PostgreSQL" },
      }),
    );
    expect(goal(goals, "postgres-c64-vs-dbos")).toMatchObject({ status: "not measured", measured: null, bound: "needs --peers (DBOS) and PostgreSQL" });
    expect(goal(goals, "sqlite-c512")).toMatchObject({ status: "met", bound: "store alone not measured" });
    expect(goal(goals, "sqlite-c1-p50")).toMatchObject({ status: "not measured", bound: "no SQLite row at C=1" });
    expect(goal(goals, "rss-10k-in-flight")).toMatchObject({ status: "not measured", bound: "memory not asked for" });
    expect(goal(goals, "postgres-recovery-10k")).toMatchObject({ status: "not measured", bound: "recovery no PostgreSQL" });
  });

  it("judges memory by the worst store", () => {
    const goals = checkGoals(
      figures({
        memory: [
          { store: "memory", durability: "none (process memory)", inFlight: 10000, baselineRssMiB: 100, peakRssMiB: 150, rssGrowthMiB: 50, rssGrowthPer1000MiB: 5, heapGrowthMiB: 20, fillMs: 600, drainMs: 300 },
          { store: "sqlite", durability: "synchronous=FULL", inFlight: 10000, baselineRssMiB: 100, peakRssMiB: 200, rssGrowthMiB: 100, rssGrowthPer1000MiB: 10, heapGrowthMiB: 30, fillMs: 900, drainMs: 400 },
        ],
      }),
    );
    // 100 MiB is 104.9 MB: over the goal.
    expect(goal(goals, "rss-10k-in-flight")).toMatchObject({ status: "not met" });
    expect(goal(goals, "rss-10k-in-flight").measuredText).toContain("sqlite");
  });
});

// The performance goals Sagaflow holds itself to (docs/benchmarks.md, "Goals"), checked against
// one run's figures. Each goal is reported with what was measured, whether it was met, and, where
// the same run measured it, what bounds it on this machine: the store alone (what that store and
// group commit reach with no engine), the engine alone, the disk's durable commit latency. So a
// miss says whether the runtime, the store or the hardware is short.
import type { Ceiling } from "./ceilings.js";
import type { MemoryFigure } from "./memory.js";
import type { BenchReport, ResultRow, StoreAloneRow } from "./report.js";

/** What a goal's check found. */
export type GoalStatus = "met" | "not met" | "not measured";

export interface GoalCheck {
  /** Stable id, for comparing runs. */
  id: string;
  /** The goal as stated. */
  goal: string;
  /** The measured figure in the goal's terms, or null when this run did not measure it. */
  measured: number | null;
  /** The measured figure as printed, with its unit and what it was compared with. */
  measuredText: string;
  status: GoalStatus;
  /** What bounds the figure on this machine, measured in the same run; or why it was not measured. */
  bound: string;
}

type Figures = Pick<BenchReport, "results" | "ceilings" | "storeAlone" | "engineAlone" | "memory" | "recovery"> & Partial<Pick<BenchReport, "runtimeAlone">>;

const DEFAULT_POSTGRES = "synchronous_commit=on";
const DEFAULT_SQLITE = "synchronous=FULL";
/** A successful 3-step saga's minimum: the start with the first attempt, then one commit per step outcome (the last one ending it). */
const MIN_COMMITS = 4;

function row(figures: Figures, store: string, durability: string | null, concurrency: number): ResultRow | undefined {
  return figures.results.find((r) => r.store === store && r.scenario === "success" && r.concurrency === concurrency && (durability === null || r.durability === durability));
}

function alone(figures: Figures, store: string, durability: string, concurrency: number): StoreAloneRow | undefined {
  return figures.storeAlone.find((a) => a.store === store && a.durability === durability && a.concurrency === concurrency);
}

function sagaWrites(ceilings: readonly Ceiling[], durability: string): Ceiling | undefined {
  return ceilings.find((c) => c.store === "sqlite" && c.durability === durability && c.kind === "saga writes");
}

function oneRowCommit(ceilings: readonly Ceiling[], store: "sqlite" | "postgres", durability: string): Ceiling | undefined {
  return ceilings.find((c) => c.store === store && c.durability === durability && c.kind === "one-row" && c.clients === 1);
}

function fmt(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function check(id: string, goal: string, measured: number | null, measuredText: string, met: (value: number) => boolean, bound: string, missing: string): GoalCheck {
  if (measured === null || !Number.isFinite(measured)) return { id, goal, measured: null, measuredText: "–", status: "not measured", bound: missing };
  return { id, goal, measured, measuredText, status: met(measured) ? "met" : "not met", bound };
}

function aloneBound(figures: Figures, store: string, durability: string, concurrency: number): string {
  const a = alone(figures, store, durability, concurrency);
  return a === undefined ? "store alone not measured" : `the store alone (no engine) took ${fmt(a.sagasPerSec.median)}/s`;
}

function throughputGoal(figures: Figures, id: string, goal: string, store: string, durability: string | null, concurrency: number, target: number, aloneDurability: string): GoalCheck {
  const r = row(figures, store, durability, concurrency);
  const rate = r?.sagasPerSec.median ?? null;
  return check(id, goal, rate, rate === null ? "–" : `${fmt(rate)}/s`, (v) => v >= target, aloneBound(figures, store, aloneDurability, concurrency), `no ${store} row at C=${concurrency}`);
}

function dbosGoal(figures: Figures): GoalCheck[] {
  const ours64 = row(figures, "postgres", DEFAULT_POSTGRES, 64);
  const dbos64 = row(figures, "dbos", null, 64);
  const ours1 = row(figures, "postgres", DEFAULT_POSTGRES, 1);
  const dbos1 = row(figures, "dbos", null, 1);
  const missing = "needs --peers (DBOS) and PostgreSQL";
  const throughputRatio = ours64 !== undefined && dbos64 !== undefined ? ours64.sagasPerSec.median / dbos64.sagasPerSec.median : null;
  const latencyRatio = ours1 !== undefined && dbos1 !== undefined ? ours1.p50Ms.median / dbos1.p50Ms.median : null;
  return [
    check(
      "postgres-c64-vs-dbos",
      "PostgreSQL, C=64: ≥ 20× DBOS's sagas/s",
      throughputRatio,
      throughputRatio === null || ours64 === undefined || dbos64 === undefined ? "–" : `${fmt(throughputRatio)}× (${fmt(ours64.sagasPerSec.median)} vs ${fmt(dbos64.sagasPerSec.median)}/s)`,
      (v) => v >= 20,
      aloneBound(figures, "postgres", DEFAULT_POSTGRES, 64),
      missing,
    ),
    check(
      "postgres-c1-p50-vs-dbos",
      "PostgreSQL, C=1: p50 ≤ ⅓ of DBOS's",
      latencyRatio,
      latencyRatio === null || ours1 === undefined || dbos1 === undefined ? "–" : `${fmt(latencyRatio)}× (${fmt(ours1.p50Ms.median)} vs ${fmt(dbos1.p50Ms.median)} ms)`,
      (v) => v <= 1 / 3,
      commitFloor(figures, "postgres", DEFAULT_POSTGRES),
      missing,
    ),
  ];
}

/**
 * What MIN_COMMITS durable commits one after another cost on this disk, from the one-row commit
 * rate the ceilings measured in the same run. Not a strict floor: the disk's flush latency drifts
 * between the minute the ceiling was measured and the minute of the row.
 */
function commitFloor(figures: Figures, store: "sqlite" | "postgres", durability: string): string {
  const ceiling = oneRowCommit(figures.ceilings, store, durability);
  if (ceiling === undefined) return "commit ceiling not measured";
  const perCommitMs = 1000 / ceiling.commitsPerSec;
  return `${MIN_COMMITS} durable commits in a row ≈ ${fmt(MIN_COMMITS * perCommitMs)} ms on this disk (one-row commit: ${fmt(perCommitMs)} ms)`;
}

function memoryGoal(figures: Figures): GoalCheck {
  const memory = figures.memory;
  const measuredRows = "skipped" in memory ? [] : memory.filter((m): m is MemoryFigure => !("error" in m));
  const worst = measuredRows.reduce<MemoryFigure | undefined>((w, m) => (w === undefined || m.rssGrowthPer1000MiB > w.rssGrowthPer1000MiB ? m : w), undefined);
  // In MB (10^6 bytes), as the goal is stated, for 10,000 sagas.
  const growthMb = worst === undefined ? null : (worst.rssGrowthPer1000MiB * 10 * 1024 * 1024) / 1e6;
  return check(
    "rss-10k-in-flight",
    "< 100 MB of RSS growth for 10,000 in-flight sagas (every store)",
    growthMb,
    worst === undefined || growthMb === null ? "–" : `${fmt(growthMb)} MB (worst: ${worst.store} ${worst.durability})`,
    (v) => v < 100,
    worst === undefined ? "–" : `live JS heap growth ${fmt(worst.heapGrowthMiB)} MiB of it`,
    "skipped" in memory ? `memory ${memory.skipped}` : "no store's memory figure",
  );
}

function recoveryGoal(figures: Figures): GoalCheck {
  const recovery = figures.recovery;
  const measured = "startToDoneMs" in recovery ? recovery : null;
  return check(
    "postgres-recovery-10k",
    "PostgreSQL: 10,000 in-flight sagas recovered in < 5 s",
    measured === null ? null : measured.startToDoneMs / 1000,
    measured === null ? "–" : `${fmt(measured.startToDoneMs / 1000)} s for ${measured.sagas.toLocaleString("en-US")} (process start → all completed)`,
    (v) => v < 5,
    measured === null ? "–" : `waiting out the killed worker's leases (${measured.leaseMs} ms) is part of it`,
    "skipped" in recovery ? `recovery ${recovery.skipped}` : "error" in recovery ? `recovery failed: ${recovery.error.split("\n")[0] ?? ""}` : "not measured",
  );
}

/**
 * The in-memory goal's bound is the sum of two costs measured apart: the memory store with group
 * commit (the store alone) and the engine's `decide` calls (the engine alone). Even a runtime that
 * cost nothing could not go faster than both together. The third side is the runtime itself (with
 * the engine) over a store that costs nothing (the runtime alone): no store could take the row
 * past that. The fourth is the in-memory row itself with a store that forgets each saga as it
 * ends: the part of the row's time that keeping every ended saga in V8's heap costs.
 */
function memoryEngineGoal(figures: Figures): GoalCheck {
  const goal = throughputGoal(figures, "memory-c512", "In-memory, C=512: ≥ 150,000 sagas/s", "memory", null, 512, 150_000, "none (process memory)");
  const store = alone(figures, "memory", "none (process memory)", 512)?.sagasPerSec.median;
  const engine = figures.engineAlone.find((e) => e.scenario === "success")?.sagasPerSec.median;
  if (goal.status === "not measured" || store === undefined || engine === undefined) return goal;
  const both = 1 / (1 / store + 1 / engine);
  const runtimeRow = figures.runtimeAlone?.find((r) => r.over === "null" && r.concurrency === 512);
  const forgetting = figures.runtimeAlone?.find((r) => r.over === "memory-forgetting" && r.concurrency === 512)?.sagasPerSec.median;
  const runtime = runtimeRow?.sagasPerSec.median;
  const gc =
    runtimeRow?.gcShare == null || runtimeRow.allocatedKiBPerSaga == null
      ? ""
      : ` (${Math.round(runtimeRow.gcShare.median * 100)}% of it in garbage collection, ${runtimeRow.allocatedKiBPerSaga.median.toFixed(1)} KiB allocated a saga)`;
  const withRuntime = runtime === undefined ? "" : `; the runtime and engine over a store that keeps nothing ${fmt(runtime)}/s${gc}`;
  const withForgetting = forgetting === undefined ? "" : `; the same row with the store forgetting each saga as it ends (keepEnded: 0) ${fmt(forgetting)}/s`;
  return { ...goal, bound: `${goal.bound}, the engine alone ${fmt(engine)}/s: both together ≤ ${fmt(both)}/s${withRuntime}${withForgetting}` };
}

/**
 * SQLite's goal is also bounded by SQLite's own work: the same run times Sagaflow's statements for
 * the same number of sagas with nothing else on the thread (the saga-writes ceiling), and the
 * bound says what share of each saga's time budget at the goal those statements alone take.
 */
function sqliteThroughputGoal(figures: Figures): GoalCheck {
  const target = 20_000;
  const goal = throughputGoal(figures, "sqlite-c512", "SQLite (synchronous=FULL), C=512: ≥ 20,000 sagas/s", "sqlite", DEFAULT_SQLITE, 512, target, DEFAULT_SQLITE);
  const writes = sagaWrites(figures.ceilings, DEFAULT_SQLITE)?.sagasPerSec;
  if (goal.status === "not measured" || writes === undefined) return goal;
  const statementsMicros = 1e6 / writes;
  const budgetMicros = 1e6 / target;
  return {
    ...goal,
    bound: `${goal.bound}; SQLite running only Sagaflow's statements, no engine: ${fmt(writes)}/s (${fmt(statementsMicros)} µs/saga of the ${fmt(budgetMicros)} µs the goal allows)`,
  };
}

/** Every goal, checked against one run's figures. */
export function checkGoals(figures: Figures): GoalCheck[] {
  const pgCommits = row(figures, "postgres", DEFAULT_POSTGRES, 1)?.commitsPerSaga?.median ?? null;
  const sqliteP50 = row(figures, "sqlite", DEFAULT_SQLITE, 1)?.p50Ms.median ?? null;
  return [
    ...dbosGoal(figures),
    throughputGoal(figures, "postgres-c512", "PostgreSQL, C=512: ≥ 10,000 sagas/s", "postgres", DEFAULT_POSTGRES, 512, 10_000, DEFAULT_POSTGRES),
    check(
      "postgres-c1-commits",
      `PostgreSQL, C=1: ≤ ${MIN_COMMITS} commits per successful 3-step saga`,
      pgCommits,
      pgCommits === null ? "–" : `${fmt(pgCommits)} commits/saga`,
      (v) => v <= MIN_COMMITS,
      "4 is the minimum: the start, then one per step outcome",
      "no PostgreSQL row at C=1",
    ),
    sqliteThroughputGoal(figures),
    check(
      "sqlite-c1-p50",
      "SQLite (synchronous=FULL), C=1: p50 < 1 ms",
      sqliteP50,
      sqliteP50 === null ? "–" : `${fmt(sqliteP50)} ms`,
      (v) => v < 1,
      commitFloor(figures, "sqlite", DEFAULT_SQLITE),
      "no SQLite row at C=1",
    ),
    memoryEngineGoal(figures),
    memoryGoal(figures),
    recoveryGoal(figures),
  ];
}

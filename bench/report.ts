// The benchmark's output: the JSON document (bench/results/latest.json) and the plain-text tables.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Ceiling } from "./ceilings.js";
import type { DiskSettle } from "./disk.js";
import type { EngineAloneRow } from "./engine-alone.js";
import type { GoalCheck } from "./goals.js";
import type { Sample, Spread } from "./measure.js";
import type { MemoryFigure } from "./memory.js";
import { runtimeAloneName, type RuntimeAloneRow } from "./null-store.js";
import type { RecoveryFigure } from "./recovery.js";
import type { StoreName } from "./targets.js";
import type { Scenario } from "./workload.js";

/** One (store, durability, scenario, concurrency) cell: medians with min and max over the repeats. */
export interface ResultRow {
  store: StoreName;
  scenario: Scenario;
  concurrency: number;
  durability: string;
  /** A faster mode than the store's default durability, reported on its own row. */
  faster: boolean;
  sagasPerSec: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  commitsPerSaga: Spread | null;
  statementsPerSaga: Spread | null;
  /** Who counted commits: the store's own counters, or the server (pg_stat_database) for DBOS. */
  commitsSource: "store" | "pg_stat_database" | null;
  /** PostgreSQL: pg_stat_database.xact_commit delta per saga over the whole cell (read-only transactions included). */
  serverXactPerSaga: number | null;
  /** PostgreSQL with pg_stat_statements: calls per saga over the whole cell. */
  serverStatementsPerSaga: number | null;
  /** Median sagas/s ÷ the store's one-row, one-client durable commit rate with the same settings. */
  ratioToCommitCeiling: number | null;
  /** Median sagas/s ÷ the memory store's, same scenario and concurrency. */
  ratioToMemory: number | null;
  /** Success rows: median sagas/s ÷ the same store's alone (`storeAlone`), same settings and concurrency. */
  ratioToStoreAlone: number | null;
  /** PostgreSQL rows with synchronous_commit=on: Sagaflow's median sagas/s ÷ DBOS's. */
  ratioToDbos: number | null;
  /** KiB the main thread allocated per saga (bench/gc.ts); for DBOS, its own process's. */
  allocatedKiBPerSaga: Spread | null;
  /** The share of the time the main thread stood in garbage collections, 0–1. */
  gcShare: Spread | null;
  /** The disk just before the cell (cells that write to disk; see bench/disk.ts). */
  diskBefore?: DiskSettle;
  runs: Sample[];
}

/**
 * The store alone at one concurrency: the success saga's writes replayed through group commit
 * with no engine (bench/store-alone.ts), median (min–max) sagas/s over the repeats.
 */
export interface StoreAloneRow {
  store: StoreName;
  durability: string;
  concurrency: number;
  sagasPerSec: Spread;
  /** The disk just before the cell (see bench/disk.ts). */
  diskBefore?: DiskSettle;
  runs: Sample[];
}

export type Skipped = { skipped: string };
export type Failed = { error: string };

export interface BenchReport {
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  /** Seconds spent in each part of the run. */
  phaseSeconds: Record<string, number>;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; platform: string; loadAverageAtStart: number; loadAverageAtEnd?: number };
  mode: "quick" | "full";
  postgres: { server: string; version: string | null; statementsUnavailable: string | null } | null;
  sqliteDirectory: string;
  ceilings: Ceiling[];
  storeAlone: StoreAloneRow[];
  /**
   * One-row durable SQLite commits probed before each cell that writes to disk, which waited (up
   * to a limit) until the disk was back within a margin of the run's best (bench/disk.ts).
   */
  disk?: { bestProbeMs: number; cellsProbed: number; totalWaitMs: number; cellsUnsettled: number };
  /** The pure engine's `decide` calls per saga on one thread, no store or runtime (bench/engine-alone.ts). */
  engineAlone: EngineAloneRow[];
  /**
   * The runtime with the engine over a store that keeps nothing (bench/null-store.ts), the success
   * saga per concurrency, and at the highest concurrency the same over the memory store forgetting
   * each saga as it ends (`over` tells them apart); measured when the memory store is.
   */
  runtimeAlone: RuntimeAloneRow[];
  results: ResultRow[];
  memory: Array<MemoryFigure | { store: StoreName; error: string }> | Skipped;
  recovery: RecoveryFigure | Skipped | Failed;
  peers: { dbos: { available: boolean; reason?: string; version?: string; poolSize?: number; durability?: string } } | Skipped;
  /** Each performance goal checked against this run's figures (bench/goals.ts). */
  goals?: GoalCheck[];
  notes: string[];
}

export function writeReport(path: string, report: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** 3 significant figures, no exponent: 0.0123, 1.23, 12.3, 1234. */
function num(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toString();
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function withRange(value: Spread | null): string {
  if (value === null) return "–";
  return `${num(value.median)} (${num(value.min)}–${num(value.max)})`;
}

/** A share's median as a whole percentage. */
function percent(share: Spread | null | undefined): string {
  return share === null || share === undefined || !Number.isFinite(share.median) ? "–" : `${Math.round(share.median * 100)}`;
}

function ratio(value: number | null): string {
  return value === null ? "–" : `${num(value)}×`;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function alignTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function resultsTable(rows: readonly ResultRow[]): string {
  const header = ["store", "durability", "scenario", "C", "sagas/s (min–max)", "p50 ms (min–max)", "p99 ms (min–max)", "commits/saga", "stmts/saga", "srv xact/saga", "GC %", "÷ceiling", "÷store", "÷memory", "Sagaflow/DBOS"];
  const body = rows.map((r) => [
    r.store,
    r.durability,
    r.scenario,
    String(r.concurrency),
    withRange(r.sagasPerSec),
    withRange(r.p50Ms),
    withRange(r.p99Ms),
    r.commitsPerSaga === null ? "–" : `${num(r.commitsPerSaga.median)}${r.commitsSource === "pg_stat_database" ? " (srv)" : ""}`,
    r.statementsPerSaga === null ? "–" : num(r.statementsPerSaga.median),
    num(r.serverXactPerSaga),
    percent(r.gcShare),
    ratio(r.ratioToCommitCeiling),
    ratio(r.ratioToStoreAlone),
    ratio(r.ratioToMemory),
    ratio(r.ratioToDbos),
  ]);
  return alignTable(header, body, new Set([3, 7, 8, 9, 10, 11, 12, 13, 14]));
}

export function storeAloneTable(rows: readonly StoreAloneRow[]): string {
  if (rows.length === 0) return "(none measured)";
  const body = rows.map((r) => [r.store, r.durability, String(r.concurrency), withRange(r.sagasPerSec)]);
  return alignTable(["store", "durability", "C", "sagas/s (min–max)"], body, new Set([2]));
}

export function engineAloneTable(rows: readonly EngineAloneRow[]): string {
  if (rows.length === 0) return "(not measured)";
  const body = rows.map((r) => [r.scenario, withRange(r.sagasPerSec), num(r.microsPerSaga), num(r.allocatedKiBPerSaga), percent(r.gcShare)]);
  return alignTable(["scenario", "sagas/s (min–max)", "µs/saga", "KiB alloc/saga", "GC %"], body, new Set([2, 3, 4]));
}

export function runtimeAloneTable(rows: readonly RuntimeAloneRow[]): string {
  if (rows.length === 0) return "(not measured: it runs with the memory store's rows)";
  const body = rows.map((r) => {
    const micros = 1e6 / r.sagasPerSec.median;
    const gcMicros = r.gcShare === null ? null : micros * r.gcShare.median;
    const writes = r.writesPerSaga === null ? "–" : num(r.writesPerSaga);
    return [runtimeAloneName(r.over), String(r.concurrency), withRange(r.sagasPerSec), num(micros), writes, num(r.allocatedKiBPerSaga?.median), percent(r.gcShare), num(gcMicros)];
  });
  return alignTable(["over", "C", "sagas/s (min–max)", "µs/saga", "writes/saga", "KiB alloc/saga", "GC %", "GC µs/saga"], body, new Set([1, 3, 4, 5, 6, 7]));
}

export function ceilingsTable(ceilings: readonly Ceiling[]): string {
  if (ceilings.length === 0) return "(none: no durable store was measured)";
  const body = ceilings.map((c) => [c.store, c.durability, c.kind, String(c.clients), num(c.commitsPerSec), num(c.rowsPerSec), c.sagasPerSec === undefined ? "–" : num(c.sagasPerSec)]);
  return alignTable(["store", "durability", "commit", "clients", "commits/s", "rows/s", "sagas/s"], body, new Set([3, 4, 5, 6]));
}

function memorySection(memory: BenchReport["memory"]): string {
  if ("skipped" in memory) return `Memory: skipped (${memory.skipped})`;
  const body = memory.map((m) =>
    "error" in m
      ? [m.store, "–", "–", "–", "–", "–", `failed: ${m.error.split("\n")[0] ?? ""}`]
      : [m.store, m.durability, num(m.baselineRssMiB), num(m.peakRssMiB), num(m.rssGrowthMiB), num(m.heapGrowthMiB), `filled in ${num(m.fillMs)} ms`],
  );
  const sagas = memory.find((m) => !("error" in m)) as MemoryFigure | undefined;
  return [
    `Memory: ${sagas?.inFlight ?? 10_000} sagas in flight (parked in step 2), fresh process per store`,
    alignTable(["store", "durability", "baseline RSS MiB", "peak RSS MiB", "RSS growth MiB", "heap growth MiB", ""], body, new Set([2, 3, 4, 5])),
  ].join("\n");
}

function recoverySection(recovery: BenchReport["recovery"]): string {
  if ("skipped" in recovery) return `Recovery: skipped (${recovery.skipped})`;
  if ("error" in recovery) return `Recovery: failed (${recovery.error.split("\n")[0] ?? ""})`;
  return (
    `Recovery (PostgreSQL): ${recovery.sagas} in-flight sagas left by a SIGKILLed worker; fresh worker (${recovery.workerConcurrency} slots, lease ${recovery.leaseMs} ms):\n` +
    `  process start → all completed ${num(recovery.startToDoneMs)} ms (→ first completed ${num(recovery.startToFirstMs)} ms; Orchestrator.create → all completed ${num(recovery.createToDoneMs)} ms; SIGKILL → all completed ${num(recovery.killToDoneMs)} ms)`
  );
}

export function goalsTable(goals: readonly GoalCheck[]): string {
  const body = goals.map((g) => [g.goal, g.measuredText, g.status, g.bound]);
  return alignTable(["goal", "measured", "status", "what bounds it here (same run)"], body, new Set());
}

/** Everything printed on stdout at the end of a run. */
export function renderReport(report: BenchReport): string {
  const { machine } = report;
  const parts = [
    `Sagaflow benchmark (${report.mode}) ${report.startedAt}: ${machine.cpus} × ${machine.cpuModel}, ${num(machine.memGiB)} GiB, Node ${machine.node}, ${machine.platform}, ` +
      `load average ${num(machine.loadAverageAtStart)} at start, ${num(machine.loadAverageAtEnd)} at end` +
      (report.postgres === null ? "" : `; PostgreSQL ${report.postgres.version ?? "?"} at ${report.postgres.server}`),
    "",
    "Throughput and latency (start() → terminal transition), median (min–max) over the repeats:",
    resultsTable(report.results),
    "",
    "Raw durable commit rate (the ceiling), same run, same settings; \"saga writes\" runs only Sagaflow's own statements for 512 successful sagas in flight, one transaction per step of all of them, through the store's statement runner, with no engine or other store code (ids in creation order, as the orchestrator's default UUIDv7s; \"random ids\": the same with random UUIDs):",
    ceilingsTable(report.ceilings),
    "",
    "The store alone (the success saga's four writes replayed through group commit, no engine; ÷store above is a row's sagas/s ÷ this):",
    storeAloneTable(report.storeAlone),
    "",
    "The engine alone (decide() for each transition of a saga, one thread, no store, runtime or step):",
    engineAloneTable(report.engineAlone),
    "",
    "The runtime alone (the success saga through the orchestrator, engine included, over a store that keeps nothing and answers every write at once), and the same over the memory store told to forget each saga as it ends (keepEnded: 0), the in-memory row but for the ended sagas it keeps:",
    runtimeAloneTable(report.runtimeAlone),
    "",
    memorySection(report.memory),
    "",
    recoverySection(report.recovery),
  ];
  const peers = report.peers;
  if ("skipped" in peers) parts.push("", `Peers: skipped (${peers.skipped})`);
  else if (!peers.dbos.available) parts.push("", `DBOS: no rows, because ${peers.dbos.reason ?? "it did not run"}`);
  if (report.goals !== undefined) {
    const met = report.goals.filter((g) => g.status === "met").length;
    parts.push("", `Goals (docs/benchmarks.md): ${met} of ${report.goals.length} met in this run`, goalsTable(report.goals));
  }
  if (report.notes.length > 0) parts.push("", "Notes:", ...report.notes.map((n) => `- ${n}`));
  return `${parts.join("\n")}\n`;
}

// One cell of the matrix (a store with its settings, a scenario, a concurrency) measured into a
// result row, and the ratios that relate rows to their ceilings, to the memory store and to DBOS.
import { oneRowCeiling, type Ceiling } from "./ceilings.js";
import { measure, sagaflowLauncher, spread, type Sample, type Spread, type Window } from "./measure.js";
import type { ServerCounters, ServerMonitor } from "./pg.js";
import type { DbosPeer } from "./peers/dbos.js";
import { runtimeAloneName, type RuntimeAloneRow } from "./null-store.js";
import type { ResultRow, StoreAloneRow } from "./report.js";
import { measureStoreAlone } from "./store-alone.js";
import type { Target } from "./targets.js";
import { benchSagas, EXPECTED_STATUS, type Scenario } from "./workload.js";

function summarize(samples: readonly Sample[], pick: (s: Sample) => number | null): Spread | null {
  return spread(samples.map(pick));
}

/** A result row from one cell's samples: each figure's median with its min and max; ratios are filled later (`addRatios`). */
export function rowOf(base: Pick<ResultRow, "store" | "scenario" | "concurrency" | "durability" | "faster">, samples: Sample[]): ResultRow {
  const must = (value: Spread | null): Spread => value ?? { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const commits = summarize(samples, (s) => s.commitsPerSaga);
  return {
    ...base,
    sagasPerSec: must(summarize(samples, (s) => s.sagasPerSec)),
    p50Ms: must(summarize(samples, (s) => s.p50Ms)),
    p99Ms: must(summarize(samples, (s) => s.p99Ms)),
    commitsPerSaga: commits,
    statementsPerSaga: summarize(samples, (s) => s.statementsPerSaga),
    allocatedKiBPerSaga: summarize(samples, (s) => s.allocatedKiBPerSaga),
    gcShare: summarize(samples, (s) => s.gcShare),
    commitsSource: commits === null ? null : "store",
    serverXactPerSaga: null,
    serverStatementsPerSaga: null,
    ratioToCommitCeiling: null,
    ratioToMemory: null,
    ratioToStoreAlone: null,
    ratioToDbos: null,
    runs: samples,
  };
}

/**
 * Measures one cell on a fresh store. With a monitor (PostgreSQL), the server's counters are read
 * once the migrating connection has gone and again once the store's connections have, so the
 * delta holds this cell's sagas and little else.
 */
export async function runSagaflowCell(
  target: Target,
  scenario: Scenario,
  concurrency: number,
  window: Window,
  monitor: ServerMonitor | null,
  onRepeat: () => void,
): Promise<ResultRow> {
  let before: ServerCounters | undefined;
  const open = await target.open(concurrency, [benchSagas.success, benchSagas.compensate], async (initApplicationName) => {
    if (monitor === null) return;
    await monitor.waitForDisconnect(initApplicationName);
    before = await monitor.read();
  });
  let samples: Sample[];
  let totalSagas: number;
  try {
    const launcher = sagaflowLauncher(open.orchestrator, benchSagas[scenario], EXPECTED_STATUS[scenario]);
    try {
      ({ samples, totalSagas } = await measure({ launcher, concurrency, window, counters: open.counters, onRepeat }));
    } finally {
      launcher.dispose();
    }
  } finally {
    await open.close();
  }
  const row = rowOf({ store: target.store, scenario, concurrency, durability: target.durability, faster: target.faster }, samples);
  if (monitor !== null && before !== undefined && open.applicationName !== undefined) {
    await monitor.waitForDisconnect(open.applicationName);
    const after = await monitor.read();
    row.serverXactPerSaga = (after.xactCommit - before.xactCommit) / totalSagas;
    if (after.statements !== null && before.statements !== null) row.serverStatementsPerSaga = (after.statements - before.statements) / totalSagas;
  }
  await open.dispose();
  return row;
}

/** DBOS cells as result rows; DBOS keeps no commit counters, so its commits are the server's. */
export function dbosRows(peer: DbosPeer): ResultRow[] {
  return peer.cells.map((cell) => {
    const row = rowOf({ store: "dbos", scenario: cell.scenario, concurrency: cell.concurrency, durability: peer.durability ?? "synchronous_commit=on", faster: false }, cell.samples);
    const fixed = (value: number): Spread => ({ median: value, min: value, max: value });
    row.commitsPerSaga = fixed(cell.serverXactPerSaga);
    row.commitsSource = "pg_stat_database";
    row.statementsPerSaga = cell.serverStatementsPerSaga === null ? null : fixed(cell.serverStatementsPerSaga);
    row.serverXactPerSaga = cell.serverXactPerSaga;
    row.serverStatementsPerSaga = cell.serverStatementsPerSaga;
    return row;
  });
}

/** The store alone on a fresh store: one row per concurrency. */
export async function runStoreAloneCell(target: Target, concurrency: number, window: Window, onRepeat: () => void): Promise<StoreAloneRow> {
  const open = await target.openStore();
  let samples: Sample[];
  try {
    samples = await measureStoreAlone(open.store, concurrency, window);
    onRepeat();
  } finally {
    await open.close();
  }
  await open.dispose();
  const sagasPerSec = summarize(samples, (s) => s.sagasPerSec) ?? { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { store: target.store, durability: target.durability, concurrency, sagasPerSec, runs: samples };
}

/** Fills every row's ratios from the other rows, the ceilings and the store-alone rows. */
export function addRatios(rows: ResultRow[], ceilings: readonly Ceiling[], storeAlone: readonly StoreAloneRow[] = []): void {
  const find = (store: string, durability: string | null, scenario: Scenario, concurrency: number): ResultRow | undefined =>
    rows.find((r) => r.store === store && (durability === null || r.durability === durability) && r.scenario === scenario && r.concurrency === concurrency);
  for (const row of rows) {
    const rate = row.sagasPerSec.median;
    const ceilingStore = row.store === "dbos" ? "postgres" : row.store;
    const ceiling = oneRowCeiling(ceilings, ceilingStore, row.durability);
    row.ratioToCommitCeiling = ceiling === null ? null : rate / ceiling;
    const memory = find("memory", null, row.scenario, row.concurrency);
    row.ratioToMemory = memory === undefined ? null : rate / memory.sagasPerSec.median;
    const alone = storeAlone.find((a) => a.store === row.store && a.durability === row.durability && a.concurrency === row.concurrency);
    row.ratioToStoreAlone = row.scenario === "success" && alone !== undefined ? rate / alone.sagasPerSec.median : null;
    if (row.store === "postgres" && !row.faster) {
      const dbos = find("dbos", row.durability, row.scenario, row.concurrency);
      row.ratioToDbos = dbos === undefined ? null : rate / dbos.sagasPerSec.median;
    }
  }
}

/**
 * A note naming the cells some of whose windows ended at their time cap (`Window.maxMs`, the
 * quick run's) before C sagas had ended in them, with how many; null when none did. Such a
 * window's rate comes from fewer sagas and its p99 from few latencies, so the reader should know.
 */
export function timeCappedNote(
  rows: readonly ResultRow[],
  storeAlone: readonly StoreAloneRow[],
  runtimeAlone: readonly RuntimeAloneRow[],
  capMs: number,
): string | null {
  const cells = [
    ...runtimeAlone.map((row) => ({ name: `${runtimeAloneName(row.over)} C=${row.concurrency}`, runs: row.runs })),
    ...storeAlone.map((row) => ({ name: `${row.store} ${row.durability} alone C=${row.concurrency}`, runs: row.runs })),
    ...rows.map((row) => ({ name: `${row.store} ${row.durability} ${row.scenario} C=${row.concurrency}`, runs: row.runs })),
  ].flatMap(({ name, runs }) => {
    const capped = runs.filter((sample) => sample.timeCapped).length;
    return capped === 0 ? [] : [`${name} (${capped} of ${runs.length})`];
  });
  if (cells.length === 0) return null;
  return `windows cut at ${capMs / 1000} s before C sagas had ended in them (each rate from fewer sagas, noisier; p99 from few): ${cells.join("; ")}.`;
}

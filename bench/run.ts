// `npm run bench [-- --quick --peers --stores memory,sqlite,postgres --concurrency 1,64,512 --out FILE]`
// Measures throughput, latency, commits per saga, commit ceilings, memory and recovery in one run,
// prints the tables on stdout (progress on stderr) and writes bench/results/latest.json.
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { addRatios, dbosRows, runSagaflowCell, runStoreAloneCell, timeCappedNote } from "./cells.js";
import { postgresCeilings, sqliteCeilings, sqliteSagaWritesCeiling, type Ceiling } from "./ceilings.js";
import { BENCH_ROOT, plainStackTraces } from "./child.js";
import { QUICK_WINDOW_MAX_MS, windowFor } from "./measure.js";
import { measureMemory } from "./memory.js";
import { benchDatabaseUrl, describeServer, ServerMonitor } from "./pg.js";
import { runDbosPeer } from "./peers/dbos.js";
import { measureRecovery, RecoveryTimeout } from "./recovery.js";
import { measureEngineAloneApart, measureRuntimeAloneApart, runMemoryAloneApart, runMemoryRowApart } from "./apart.js";
import { checkGoals } from "./goals.js";
import { DiskSettler, sqliteCommitProbe, type DiskSettle } from "./disk.js";
import { renderReport, writeReport, type BenchReport, type ResultRow } from "./report.js";
import { STORE_NAMES, targetsFor, type StoreName } from "./targets.js";
import { SCENARIOS } from "./workload.js";

const USAGE = `usage: npm run bench -- [--quick] [--peers] [--stores memory,sqlite,postgres] [--concurrency 1,64,512] [--out FILE]
  --quick        the whole run in under two minutes: 3 short repeats per cell (default: full, 5 repeats of ≥ 1 s)
  --peers        also run the same workload on DBOS Transact against the same PostgreSQL
  --stores       which stores to measure (default: all three); PostgreSQL is DATABASE_URL or postgres://postgres@127.0.0.1:5432/test
  --concurrency  sagas in flight (default: 1,64,512)
  --out          the JSON file (default: bench/results/latest.json)`;

/** The quick run's budget; memory and recovery are skipped (and the output says so) if they would overrun it. */
const QUICK_BUDGET_MS = 110_000;
/** Past this, a quick run's recovery gives up and says how far it got, so the run stays under two minutes. */
const QUICK_HARD_LIMIT_MS = 115_000;
/** Rough costs, measured on the 2-core machine this was written on, to decide what still fits. */
const MEMORY_COST_MS: Record<Exclude<StoreName, "dbos">, number> = { memory: 4_000, sqlite: 5_000, postgres: 7_000 };
const RECOVERY_COST_MS = 12_000;
const IN_FLIGHT = 10_000;
const RECOVERY_LEASE_MS = 1_000;
const RECOVERY_CONCURRENCY = 512;

function listOf<T>(value: string, parse: (part: string) => T): T[] {
  return value.split(",").map((part) => parse(part.trim()));
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      peers: { type: "boolean", default: false },
      stores: { type: "string", default: STORE_NAMES.join(",") },
      concurrency: { type: "string", default: "1,64,512" },
      out: { type: "string", default: join(BENCH_ROOT, "bench/results/latest.json") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const stores = listOf(values.stores, (s) => {
    if (!(STORE_NAMES as readonly string[]).includes(s)) throw new Error(`--stores: unknown store ${JSON.stringify(s)} (known: ${STORE_NAMES.join(", ")})`);
    return s as Exclude<StoreName, "dbos">;
  });
  const concurrencies = listOf(values.concurrency, (c) => {
    const n = Number(c);
    if (!/^\d+$/.test(c) || n < 1 || n > 100_000) throw new Error(`--concurrency: ${JSON.stringify(c)} is not an integer from 1 to 100000`);
    return n;
  });
  return { help: values.help, mode: values.quick ? ("quick" as const) : ("full" as const), peers: values.peers, stores, concurrencies, out: values.out };
}

async function main(argv: string[]): Promise<void> {
  plainStackTraces();
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const began = performance.now();
  const elapsed = (): number => performance.now() - began;
  const { mode, stores, concurrencies } = options;
  const url = benchDatabaseUrl();
  const notes: string[] = [];
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "?", memGiB: totalmem() / 2 ** 30, node: process.version, platform: `${process.platform}-${process.arch}`, loadAverageAtStart: loadavg()[0] ?? 0 },
    mode,
    postgres: null,
    sqliteDirectory: tmpdir(),
    ceilings: [],
    storeAlone: [],
    engineAlone: [],
    runtimeAlone: [],
    results: [],
    memory: { skipped: "not run" },
    recovery: { skipped: "not run" },
    peers: { skipped: "not asked for; add --peers" },
    notes,
    phaseSeconds: {},
  };
  let phaseStart = elapsed();
  const endPhase = (name: string): void => {
    report.phaseSeconds[name] = Math.round(elapsed() - phaseStart) / 1000;
    phaseStart = elapsed();
  };

  let monitor: ServerMonitor | null = null;
  let storesHere = [...stores];
  if (stores.includes("postgres") || options.peers) {
    try {
      monitor = await ServerMonitor.connect(url);
      const version = await monitor.scalar("SHOW server_version");
      report.postgres = { server: describeServer(url), version, statementsUnavailable: monitor.statementsUnavailable };
      notes.push(
        "srv xact/saga: pg_stat_database.xact_commit over the whole cell (warm-up and drain included) ÷ its sagas; it counts read-only transactions and every client of the database.",
      );
      if (monitor.statementsUnavailable !== null) notes.push(`statements per saga on PostgreSQL are the store's own count only: ${monitor.statementsUnavailable}.`);
    } catch (error) {
      notes.push(`PostgreSQL at ${describeServer(url)} did not answer (${error instanceof Error ? error.message : String(error)}): no PostgreSQL, DBOS or recovery figures.`);
      storesHere = storesHere.filter((s) => s !== "postgres");
    }
  }
  const havePostgres = monitor !== null;
  const targets = targetsFor(storesHere, url);
  const repeats = windowFor(mode, 1).repeats;
  const peers = options.peers && havePostgres;
  const total =
    SCENARIOS.length +
    (storesHere.includes("memory") ? (concurrencies.length + 1) * repeats : 0) +
    storesHere.filter((s) => s !== "memory").length * 2 +
    targets.length * concurrencies.length +
    targets.length * SCENARIOS.length * concurrencies.length * repeats +
    (peers ? SCENARIOS.length * concurrencies.length * repeats : 0) +
    storesHere.length +
    (storesHere.includes("postgres") ? 1 : 0);
  const bar = new cliProgress.SingleBar(
    { format: "bench [{bar}] {percentage}% {value}/{total} {duration}s | {task}", stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5_000, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { task: "commit ceilings" });
  const step = (task: string): void => bar.increment(1, { task });
  const ceilingMs = mode === "quick" ? 300 : 2_000;
  // Set by whatever wrote to PostgreSQL; the next cell first has the server flush it (see ServerMonitor.checkpoint).
  let serverDirty = false;
  let checkpointFailure: string | null = null;
  const settleServer = async (): Promise<void> => {
    if (monitor === null || !serverDirty || checkpointFailure !== null) return;
    serverDirty = false;
    checkpointFailure = await monitor.checkpoint();
    if (checkpointFailure !== null) notes.push(`cells may pay for the writes of the PostgreSQL cell before them: CHECKPOINT failed (${checkpointFailure}).`);
  };
  // Cells that write to disk start only once it is back from the writes before them (bench/disk.ts).
  const diskProbe = storesHere.some((s) => s !== "memory") ? sqliteCommitProbe() : null;
  const settler = diskProbe === null ? null : new DiskSettler(diskProbe.probe);
  // Per cell, and for the whole run, so that a disk that never recovers cannot stretch the run much.
  const diskWaitMs = mode === "quick" ? 1_000 : 10_000;
  const diskWaitBudgetMs = mode === "quick" ? 8_000 : 120_000;
  const disk = { bestProbeMs: Number.NaN, cellsProbed: 0, totalWaitMs: 0, cellsUnsettled: 0 };
  const settleDisk = async (store: StoreName): Promise<DiskSettle | undefined> => {
    if (settler === null || store === "memory") return undefined;
    const found = await settler.settle(Math.min(diskWaitMs, Math.max(0, diskWaitBudgetMs - disk.totalWaitMs)));
    disk.cellsProbed++;
    disk.totalWaitMs += found.waitedMs;
    if (!found.settled) disk.cellsUnsettled++;
    disk.bestProbeMs = found.bestMs;
    return found;
  };
  // The first reading, before anything of this run wrote: the best so far until a later one beats it.
  if (settler !== null) await settler.settle(0);
  try {
    const ceilings: Ceiling[] = [];
    if (storesHere.includes("sqlite")) {
      for (const level of ["FULL", "NORMAL"] as const) {
        bar.update({ task: `SQLite commit ceiling, synchronous=${level}` });
        ceilings.push(...sqliteCeilings(level, ceilingMs));
        bar.update({ task: `SQLite saga-writes ceiling, synchronous=${level}` });
        ceilings.push(await sqliteSagaWritesCeiling(level, ceilingMs));
        if (level === "FULL") ceilings.push(await sqliteSagaWritesCeiling(level, ceilingMs, { randomIds: true }));
        step("commit ceilings");
      }
    }
    if (storesHere.includes("postgres")) {
      for (const level of ["on", "off"] as const) {
        bar.update({ task: `PostgreSQL commit ceiling, synchronous_commit=${level}` });
        ceilings.push(...(await postgresCeilings(url, level, ceilingMs)));
        serverDirty = true;
        step("commit ceilings");
      }
    }
    report.ceilings = ceilings;
    for (const scenario of SCENARIOS) {
      bar.update({ task: `engine alone, ${scenario}` });
      report.engineAlone.push(await measureEngineAloneApart(scenario, windowFor(mode, 1)));
      step(`engine alone, ${scenario}`);
    }
    // The runtime's side of the in-memory row's bound, beside the engine's and the store's.
    if (storesHere.includes("memory")) {
      for (const concurrency of concurrencies) {
        const task = `runtime alone C=${concurrency}`;
        bar.update({ task });
        report.runtimeAlone.push(await measureRuntimeAloneApart(concurrency, windowFor(mode, concurrency), () => step(task)));
      }
      // At the highest concurrency only: what the in-memory row costs when the store keeps no ended saga.
      const top = Math.max(...concurrencies);
      const task = `memory store forgetting ended sagas C=${top}`;
      bar.update({ task });
      report.runtimeAlone.push(await measureRuntimeAloneApart(top, windowFor(mode, top), () => step(task), "memory-forgetting"));
    }
    for (const target of targets) {
      for (const concurrency of concurrencies) {
        const task = `${target.store} ${target.durability} alone C=${concurrency}`;
        bar.update({ task });
        await settleServer();
        const diskBefore = await settleDisk(target.store);
        const alone =
          target.store === "memory"
            ? await runMemoryAloneApart(concurrency, windowFor(mode, concurrency), () => step(task))
            : await runStoreAloneCell(target, concurrency, windowFor(mode, concurrency), () => step(task));
        if (diskBefore !== undefined) alone.diskBefore = diskBefore;
        report.storeAlone.push(alone);
        if (target.store === "postgres") serverDirty = true;
      }
    }
    endPhase("ceilings");

    const rows: ResultRow[] = [];
    for (const target of targets) {
      for (const scenario of SCENARIOS) {
        for (const concurrency of concurrencies) {
          const task = `${target.store} ${target.durability} ${scenario} C=${concurrency}`;
          bar.update({ task });
          const cellMonitor = target.store === "postgres" ? monitor : null;
          await settleServer();
          const diskBefore = await settleDisk(target.store);
          const row =
            target.store === "memory"
              ? await runMemoryRowApart(scenario, concurrency, windowFor(mode, concurrency), () => step(task))
              : await runSagaflowCell(target, scenario, concurrency, windowFor(mode, concurrency), cellMonitor, () => step(task));
          if (diskBefore !== undefined) row.diskBefore = diskBefore;
          rows.push(row);
          if (target.store === "postgres") serverDirty = true;
        }
      }
    }

    endPhase("sagaflow");
    const overBudget = (): string => `would not fit the quick run's two-minute budget (${Math.round(elapsed() / 1000)} s used); run without --quick for it`;
    if (peers) {
      bar.update({ task: "DBOS Transact (child process)" });
      // The child has the server flush before each of its cells too.
      await settleServer();
      await settleDisk("dbos");
      // Quick: the cells that would overrun the budget are skipped (memory and recovery, after them, then are too).
      const deadline = mode === "quick" ? Date.now() + QUICK_BUDGET_MS - elapsed() : undefined;
      const peer = await runDbosPeer({ url, scenarios: [...SCENARIOS], concurrencies, mode, deadline }, () => step("DBOS Transact"));
      if (peer.skipped !== undefined && peer.skipped.length > 0) {
        bar.increment(peer.skipped.length * repeats);
        notes.push(`dbos: skipped ${peer.skipped.map((c) => `${c.scenario} C=${c.concurrency}`).join(", ")}: ${overBudget()}.`);
      }
      report.peers = { dbos: { available: peer.available, reason: peer.reason, version: peer.version, poolSize: peer.poolSize, durability: peer.durability } };
      rows.push(...dbosRows(peer));
      if (peer.available) notes.push(`DBOS ${peer.version ?? "?"} and Sagaflow both use a pool of ${peer.poolSize ?? "?"} connections; DBOS's commits/saga is the server's xact_commit count (read-only transactions included), marked (srv).`);
    } else if (options.peers) report.peers = { skipped: "no PostgreSQL to run DBOS on" };
    addRatios(rows, ceilings, report.storeAlone);
    report.results = rows;
    const capped = timeCappedNote(rows, report.storeAlone, report.runtimeAlone, QUICK_WINDOW_MAX_MS);
    if (capped !== null) notes.push(capped);
    endPhase("dbos");

    // Memory store by store, then recovery, each only while the quick run's budget allows.
    const fits = (costMs: number): boolean => mode === "full" || elapsed() + costMs < QUICK_BUDGET_MS;
    const memory: Exclude<BenchReport["memory"], { skipped: string }> = [];
    const skippedMemory: string[] = [];
    for (const store of storesHere) {
      if (!fits(MEMORY_COST_MS[store])) {
        skippedMemory.push(store);
        step("memory");
        continue;
      }
      bar.update({ task: `memory: ${IN_FLIGHT} in-flight sagas on ${store} (child process)` });
      memory.push(...(await measureMemory([store], url, IN_FLIGHT, () => step("memory"))));
    }
    report.memory = memory.length > 0 ? memory : { skipped: overBudget() };
    if (skippedMemory.length > 0) notes.push(`memory: skipped for ${skippedMemory.join(", ")}: it ${overBudget()}.`);
    endPhase("memory");

    if (!storesHere.includes("postgres")) report.recovery = { skipped: havePostgres ? "postgres is not among --stores" : "no PostgreSQL" };
    else if (!fits(RECOVERY_COST_MS)) {
      report.recovery = { skipped: overBudget() };
      step("recovery");
    } else {
      bar.update({ task: `recovery: ${IN_FLIGHT} sagas after SIGKILL (child processes)` });
      serverDirty = true;
      await settleServer();
      try {
        // Quick: the fresh worker gives up when the budget is spent (the output then says how far it got).
        const deadline = Date.now() + (mode === "quick" ? QUICK_HARD_LIMIT_MS - elapsed() : 600_000);
        report.recovery = await measureRecovery(url, IN_FLIGHT, RECOVERY_LEASE_MS, RECOVERY_CONCURRENCY, deadline);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        report.recovery = error instanceof RecoveryTimeout ? { skipped: `did not finish within the run's budget: ${message}` } : { error: message };
      }
      step("recovery");
    }
    endPhase("recovery");
  } finally {
    bar.stop();
    await monitor?.close();
    diskProbe?.close();
  }
  if (disk.cellsProbed > 0) {
    report.disk = disk;
    notes.push(
      `disk: before each cell that writes to disk, one-row durable SQLite commits were probed until their median was within 1.5× of the run's best (${disk.bestProbeMs.toFixed(3)} ms), for at most ${diskWaitMs / 1000} s a cell and ${diskWaitBudgetMs / 1000} s a run: ${(disk.totalWaitMs / 1000).toFixed(1)} s waited over ${disk.cellsProbed} cells` +
        (disk.cellsUnsettled > 0 ? `, ${disk.cellsUnsettled} of them started with the disk still slow (each row's diskBefore says how slow).` : "."),
    );
  }
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAtEnd = loadavg()[0] ?? 0;
  notes.push(...crossChecks(report.results));
  report.durationMs = elapsed();
  const phases = Object.entries(report.phaseSeconds).map(([name, seconds]) => `${name} ${Math.round(seconds)} s`);
  notes.push(`whole run: ${Math.round(elapsed() / 1000)} s (${phases.join(", ")}).`);
  report.goals = checkGoals(report);
  writeReport(options.out, report);
  process.stdout.write(renderReport(report));
  process.stdout.write(`\nJSON: ${options.out}\n`);
}

/** Where the server's count of transactions disagrees with the store's: someone else was using the database. */
function crossChecks(rows: readonly ResultRow[]): string[] {
  const odd = rows.filter(
    (r) => r.store === "postgres" && r.serverXactPerSaga !== null && r.commitsPerSaga !== null && r.serverXactPerSaga > r.commitsPerSaga.median * 1.5 + 0.05,
  );
  if (odd.length === 0) return [];
  const cells = odd.map((r) => `${r.durability} ${r.scenario} C=${r.concurrency}`).join("; ");
  return [`the server counted many more transactions than the store committed in: ${cells}. Another client was probably using the database then, so those cells' figures are suspect.`];
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

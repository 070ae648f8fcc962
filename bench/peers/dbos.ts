// The same workload on DBOS Transact, in a child process of its own (DBOS is a process-wide
// singleton). Fairness: the same step bodies (`stepBodies`), the same closed loop and windows
// (`measure`), the same PostgreSQL server with synchronous_commit on, a fresh schema per cell, and
// both systems on their default pool of 10 connections. The compensating workflow is written the
// way DBOS documents sagas: try the steps, and on failure run the compensations as steps, newest first.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_ROOT, childArgument, emit, isEntryPoint, runAsChild, startChild } from "../child.js";
import { measure, windowFor, type Sample, type SagaLauncher } from "../measure.js";
import { dropSchema, scratchName, ServerMonitor, withParams } from "../pg.js";
import { EXPECTED_STATUS, stepBodies, type BenchInput, type Scenario } from "../workload.js";

export interface DbosCell {
  scenario: Scenario;
  concurrency: number;
  samples: Sample[];
  totalSagas: number;
  /** pg_stat_database.xact_commit delta per saga (read-only transactions included). */
  serverXactPerSaga: number;
  serverStatementsPerSaga: number | null;
}

export interface DbosPeer {
  available: boolean;
  /** Why there are no DBOS rows, when there are none. */
  reason?: string;
  version?: string;
  poolSize?: number;
  durability?: string;
  statementsUnavailable?: string | null;
  cells: DbosCell[];
  /** Cells left out because they would not have ended by the run's deadline (quick runs). */
  skipped?: Array<{ scenario: Scenario; concurrency: number }>;
}

interface DbosArgs {
  url: string;
  scenarios: Scenario[];
  concurrencies: number[];
  mode: "quick" | "full";
  /** Wall-clock time (`Date.now()`) by which the cells must be done: one that would end later is skipped. */
  deadline?: number;
}

/**
 * Whether a cell at `concurrency` is expected to end by `deadline`: expected to take as long as the
 * last cell at that concurrency did, or, before one ran, as the longest cell so far (the first cell
 * always runs). At high concurrency DBOS ends its workflows in waves of about C, each taking
 * seconds on a slow day, and a cell needs about six of them (warm-up, three windows, the drain), so
 * a quick run's budget cannot hold every cell there; the cells come in order of what the goals
 * need (success before compensate, low concurrency first).
 */
export function dbosCellFits(deadline: number | undefined, nowMs: number, tookMs: ReadonlyMap<number, number>, concurrency: number): boolean {
  if (deadline === undefined) return true;
  const expected = tookMs.get(concurrency) ?? Math.max(0, ...tookMs.values());
  return nowMs + expected <= deadline;
}

const POOL_SIZE = 10;
const APPLICATION_NAME = "sagaflow-bench-dbos";

async function childMain(args: DbosArgs): Promise<DbosPeer> {
  const { DBOS } = await import("@dbos-inc/dbos-sdk");
  const step = <T>(name: string, body: () => T): Promise<T> => DBOS.runStep(() => Promise.resolve(body()), { name });
  const success = DBOS.registerWorkflow(
    async (input: BenchInput): Promise<string> => {
      await step("reserve", () => stepBodies.reserve(input.n));
      await step("charge", () => stepBodies.charge(input.n));
      await step("ship", () => stepBodies.ship(input.n));
      return EXPECTED_STATUS.success;
    },
    { name: "benchSuccess" },
  );
  const compensate = DBOS.registerWorkflow(
    async (input: BenchInput): Promise<string> => {
      const undo: Array<() => Promise<unknown>> = [];
      try {
        await step("reserve", () => stepBodies.reserve(input.n));
        undo.push(() => step("release", () => stepBodies.release()));
        await step("charge", () => stepBodies.charge(input.n));
        undo.push(() => step("refund", () => stepBodies.refund()));
        await step("ship", () => stepBodies.failShip(input.n));
        return EXPECTED_STATUS.success;
      } catch {
        for (const compensation of undo.reverse()) await compensation();
        return EXPECTED_STATUS.compensate;
      }
    },
    { name: "benchCompensate" },
  );
  const workflows = { success, compensate };
  const monitor = await ServerMonitor.connect(args.url);
  const cells: DbosCell[] = [];
  const skipped: Array<{ scenario: Scenario; concurrency: number }> = [];
  const tookMs = new Map<number, number>();
  try {
    for (const scenario of args.scenarios) {
      for (const concurrency of args.concurrencies) {
        if (!dbosCellFits(args.deadline, Date.now(), tookMs, concurrency)) {
          skipped.push({ scenario, concurrency });
          continue;
        }
        const cellStart = Date.now();
        // As the parent does before each of Sagaflow's cells: the previous cell's writes flushed first.
        await monitor.checkpoint();
        const schema = scratchName("sagaflow_bench_dbos");
        DBOS.setConfig({
          name: "sagaflow-bench",
          systemDatabaseUrl: withParams(args.url, { application_name: APPLICATION_NAME, options: "-c synchronous_commit=on" }),
          systemDatabaseSchemaName: schema,
          systemDatabasePoolSize: POOL_SIZE,
          logLevel: "error",
        });
        try {
          // Migrate first, on connections of its own, so that the counters below hold the workload only.
          await DBOS.migrate(withParams(args.url, { application_name: `${APPLICATION_NAME}-init` }), { schemaName: schema });
          await monitor.waitForDisconnect(`${APPLICATION_NAME}-init`);
          const before = await monitor.read();
          await DBOS.launch();
          const workflow = workflows[scenario];
          const expected = EXPECTED_STATUS[scenario];
          const launcher: SagaLauncher = {
            launch(seq, done) {
              DBOS.startWorkflow(workflow, { workflowID: `dbos-${seq}` })({ n: seq })
                .then((handle) => handle.getResult())
                .then(
                  (result) => done(result === expected ? undefined : new Error(`workflow dbos-${seq} returned ${result}, expected ${expected}`)),
                  (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
                );
            },
          };
          const measured = await measure({
            launcher,
            concurrency,
            window: windowFor(args.mode, concurrency),
            onRepeat: () => emit({ type: "progress", task: `dbos ${scenario} C=${concurrency}` }),
          });
          await DBOS.shutdown();
          await monitor.waitForDisconnect(APPLICATION_NAME);
          const after = await monitor.read();
          cells.push({
            scenario,
            concurrency,
            samples: measured.samples,
            totalSagas: measured.totalSagas,
            serverXactPerSaga: (after.xactCommit - before.xactCommit) / measured.totalSagas,
            serverStatementsPerSaga:
              after.statements === null || before.statements === null ? null : (after.statements - before.statements) / measured.totalSagas,
          });
        } finally {
          if (DBOS.isInitialized()) await DBOS.shutdown();
          await dropSchema(args.url, schema);
        }
        tookMs.set(concurrency, Date.now() - cellStart);
      }
    }
  } finally {
    await monitor.close();
  }
  return {
    available: true,
    version: dbosVersion(),
    poolSize: POOL_SIZE,
    durability: "synchronous_commit=on",
    statementsUnavailable: monitor.statementsUnavailable,
    cells,
    skipped,
  };
}

function dbosVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(BENCH_ROOT, "node_modules/@dbos-inc/dbos-sdk/package.json"), "utf8")) as { version?: string };
    return pkg.version;
  } catch {
    return undefined;
  }
}

/** Runs the DBOS side in a child; if DBOS cannot run here, the peer says why instead of failing the run. */
export async function runDbosPeer(args: DbosArgs, onRepeat: () => void): Promise<DbosPeer> {
  try {
    const run = startChild("bench/peers/dbos.ts", args, (event) => {
      if (event.type === "progress") onRepeat();
    });
    return (await run.result) as DbosPeer;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { available: false, reason: message.split("\n")[0] ?? message, cells: [] };
  }
}

if (isEntryPoint(import.meta.url)) runAsChild(() => childMain(childArgument<DbosArgs>()));

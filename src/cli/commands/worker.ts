import { hostname } from "node:os";
import { Command, Option } from "commander";
import { integerAtLeast, withCommonOptions, withDatabaseOptions, type CommonOptions } from "../options.js";
import { listenForStopSignals } from "../signals.js";
import { describeDatabase, resolveDatabase, type DatabaseFlags } from "../store.js";

interface WorkerOptions extends CommonOptions, DatabaseFlags {
  untilIdle?: boolean;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  graceMs: number;
  stepDelayMs: number;
  name?: string;
}

/** `sagaflow worker`: recovers and drives the unfinished sagas in a database; one of a fleet on PostgreSQL. */
export function workerCommand(): Command {
  const command = withDatabaseOptions(new Command("worker"), "the database whose sagas to run (never created)")
    .summary("recover and run unfinished sagas (built-in definitions: the demo's order saga)")
    .description(
      "recover and finish every unfinished saga in the database, then (without --until-idle) keep running new ones until SIGTERM/SIGINT.\n" +
        "Any number of workers may share one PostgreSQL database. A worker needs the code of the sagas it runs: today that is the\n" +
        "built-in set, the demo's order saga (order@1) and its example participants.",
    )
    .option("--until-idle", "exit once no unfinished saga is left")
    .option("--concurrency <n>", "sagas driven at once", integerAtLeast(1), 32)
    .addOption(new Option("--lease-ms <ms>", "how long a claim holds without renewal; another worker takes over after it").argParser(integerAtLeast(100)).default(15_000))
    .option("--poll-ms <ms>", "how often to look for due sagas when no notification arrives", integerAtLeast(10), 1_000)
    .option("--grace-ms <ms>", "on SIGTERM/SIGINT, how long held sagas may run on before they are aborted and released", integerAtLeast(0), 10_000)
    .option("--step-delay-ms <ms>", "simulated latency of every participant call (the worker runs the participants)", integerAtLeast(0), 0)
    .option("--name <name>", "worker id shown in history and leases (default: <hostname>:<pid>)")
    .action(async (options: WorkerOptions) => {
      // Loaded here, not at the top: `--help` and usage errors need neither the logger nor the runtime.
      const [{ createCliLogger }, { openOrderRuntime }] = await Promise.all([import("../logger.js"), import("../order-runtime.js")]);
      // A long-lived service: its start and stop lines are worth having by default.
      const logger = createCliLogger(options.logLevel, process.env, "info");
      // Listen before anything else: a signal that arrives while starting up must still close cleanly.
      const stop = listenForStopSignals();
      try {
        const location = resolveDatabase(options);
        const workerId = options.name ?? `${hostname()}:${process.pid}`;
        const runtime = await openOrderRuntime(location, {
          // A fleet's workers may start before anything was enqueued, so on PostgreSQL the first
          // one creates the schema (migrations are safe to race). A SQLite path is different: a
          // typo would silently create a stray file, so a missing file is refused.
          mustExist: location.kind === "sqlite",
          participants: { stepDelayMs: options.stepDelayMs },
          orchestrator: { workerId, concurrency: options.concurrency, leaseMs: options.leaseMs, pollIntervalMs: options.pollMs, logger },
        });
        const startedAt = Date.now();
        try {
          const store = describeDatabase(location);
          logger.info({ workerId, store, concurrency: options.concurrency, leaseMs: options.leaseMs, pollMs: options.pollMs, graceMs: options.graceMs }, "worker started");
          let signal: NodeJS.Signals | undefined;
          if (options.untilIdle === true) {
            signal = (await Promise.race([runtime.orchestrator.runUntilIdle(), stop.received])) ?? undefined;
          } else {
            process.stderr.write(`sagaflow: worker ${workerId} running on ${store}; stop it with Ctrl-C or SIGTERM\n`);
            signal = await stop.received;
          }
          if (signal !== undefined) logger.info({ workerId, signal, graceMs: options.graceMs }, "stopping: no new claims; letting held sagas finish");
          await runtime.stopOrchestrator(options.graceMs);
          const counts = await runtime.store.countByStatus();
          const unfinished = counts.running + counts.compensating;
          process.stdout.write(
            `worker ${workerId} stopped: ${unfinished} unfinished, ${counts.completed} completed, ${counts.compensated} compensated, ${counts.failed} failed\n`,
          );
          logger.info({ workerId, signal: signal ?? null, uptimeMs: Date.now() - startedAt, unfinished, ...counts }, "worker stopped");
        } finally {
          await runtime.close(options.graceMs);
        }
      } finally {
        stop.dispose();
      }
    });
  return withCommonOptions(command);
}

import { Command, Option } from "commander";
import { Orchestrator } from "../../index.js";
import { createOrderSaga, openOrderServices } from "../../examples/order/index.js";
import { openSqliteStore } from "../../store/sqlite/index.js";
import { createCliLogger } from "../logger.js";
import { integerAtLeast, withCommonOptions, withDbOption, type CommonOptions } from "../options.js";

interface WorkerOptions extends CommonOptions {
  db: string;
  untilIdle?: boolean;
  concurrency: number;
  leaseMs: number;
  name?: string;
}

/** `sagaflow worker`: recovers and drives the unfinished sagas in a database. */
export function workerCommand(): Command {
  const command = withDbOption(new Command("worker"), "the database whose sagas to run (never created)")
    .summary("recover and run unfinished sagas (built-in definitions: the demo's order saga)")
    .description(
      "recover and finish every unfinished saga in the database, then (without --until-idle) keep running new ones until SIGTERM/SIGINT.\n" +
        "A worker needs the code of the sagas it runs: today that is the built-in set, the demo's order saga (order@1) and its example participants.",
    )
    .option("--until-idle", "exit once no unfinished saga is left")
    .option("--concurrency <n>", "sagas driven at once", integerAtLeast(1), 32)
    .addOption(new Option("--lease-ms <ms>", "how long a claim holds without renewal; another worker takes over after it").argParser(integerAtLeast(100)).default(15_000))
    .option("--name <name>", "worker id shown in history and leases (default: host:pid:random)")
    .action(async (options: WorkerOptions) => {
      const logger = createCliLogger(options.logLevel);
      // Listen before anything else: a signal that arrives while starting up must still close cleanly.
      const stop = listenForStopSignals();
      const store = await openSqliteStore({ path: options.db, mustExist: true });
      // The participants' tables live in the same file; opened only after the store proved the file exists.
      const participants = openOrderServices(options.db);
      let orchestrator: Orchestrator | undefined;
      try {
        orchestrator = await Orchestrator.create({
          store,
          definitions: [createOrderSaga(participants.services)],
          concurrency: options.concurrency,
          leaseMs: options.leaseMs,
          logger,
          ...(options.name !== undefined ? { workerId: options.name } : {}),
        });
        logger.info({ workerId: orchestrator.workerId, db: options.db }, "worker started");
        if (options.untilIdle === true) {
          await Promise.race([orchestrator.runUntilIdle(), stop.received]);
        } else {
          process.stderr.write(`sagaflow: worker ${orchestrator.workerId} running on ${options.db}; stop it with Ctrl-C or SIGTERM\n`);
          const signal = await stop.received;
          logger.info({ signal }, "stopping: letting running attempts finish");
        }
        const counts = await store.countByStatus();
        process.stdout.write(
          `worker ${orchestrator.workerId} stopped: ${counts.running + counts.compensating} unfinished, ${counts.completed} completed, ${counts.compensated} compensated, ${counts.failed} failed\n`,
        );
      } finally {
        if (orchestrator) await orchestrator.close();
        else await store.close();
        participants.close();
        stop.dispose();
      }
    });
  return withCommonOptions(command);
}

/** Resolves on the first SIGINT or SIGTERM; `dispose` gives both back to their default handling. */
function listenForStopSignals(): { received: Promise<NodeJS.Signals>; dispose(): void } {
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handler = (signal: NodeJS.Signals): void => resolve(signal);
  for (const signal of signals) process.on(signal, handler);
  return { received, dispose: () => signals.forEach((signal) => process.off(signal, handler)) };
}

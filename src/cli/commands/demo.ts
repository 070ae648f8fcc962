import { Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { duration } from "../format.js";
import { fraction, integerAtLeast, schemaName, withCommonOptions, type CommonOptions } from "../options.js";
import { databaseFlags, describeDatabase, type DatabaseFlags } from "../store.js";
import { demoDatabase } from "../demo/demo-database.js";
import { demoLedgerCommand } from "./demo-ledger.js";
import { demoTravelCommand } from "./demo-travel.js";

interface DemoOptions extends CommonOptions, DatabaseFlags {
  orders?: number;
  enqueueOnly?: boolean;
  failureRate: number;
  stepDelayMs: number;
  concurrency: number;
  seed: number;
  leaseMs: number;
  quiet?: boolean;
}

/** `sagaflow demo`: the seed's order saga against real example participants. */
export function demoCommand(): Command {
  const command = new Command("demo")
    .summary("run the seed's order saga against example services")
    .description(
      "run the seed's order saga (ReservePayment → ReserveInventory → ShipOrder) against example payment, inventory and shipping services;\n" +
        "without --orders: the seed's two scenarios, narrated; with --orders N: N random orders and a summary;\n" +
        "with --orders N --enqueue-only: start N orders for `sagaflow worker` processes to run, and exit",
    )
    .option(
      "--db <file-or-url>",
      "SQLite file or postgres:// URL to use or create (default: a fresh file in a new temporary directory; with --enqueue-only, $DATABASE_URL if set)",
    )
    .option("--schema <name>", "PostgreSQL only: the schema for Sagaflow's and the participants' tables (default: sagaflow)", schemaName)
    .option("--orders <n>", "start N random orders instead of the seed's two scenarios", integerAtLeast(1))
    .option("--enqueue-only", "with --orders: start the orders without running them (for workers), print what was created, and exit")
    .option("--failure-rate <p>", "fraction of random orders that fail (half at the warehouse, half at the carrier)", fraction, 0.2)
    .option("--step-delay-ms <ms>", "simulated latency of every participant call", integerAtLeast(0), 0)
    .option("--concurrency <n>", "sagas driven at once", integerAtLeast(1), 32)
    .option("--seed <n>", "seed of the random orders; the same seed gives the same orders", integerAtLeast(0), 1)
    .addOption(new Option("--lease-ms <ms>", "how long a saga stays claimed by a worker that stopped renewing it").argParser(integerAtLeast(100)).default(15_000))
    .option("--quiet", "no narration and no progress bar; only results")
    .action(async (options: DemoOptions) => {
      if (options.enqueueOnly === true && options.orders === undefined) throw new UsageError("--enqueue-only needs --orders N");
      // Loaded here, not at the top: `--help` and usage errors need neither the logger nor the runtime.
      const [{ createCliLogger }, { enqueueOrders }, { runManyOrders }, { runSeedScenarios }] = await Promise.all([
        import("../logger.js"),
        import("../demo/enqueue-orders.js"),
        import("../demo/many-orders.js"),
        import("../demo/seed-scenarios.js"),
      ]);
      const logger = createCliLogger(options.logLevel);
      const location = demoDatabase(options, options.enqueueOnly === true);
      const write = (line: string): void => void process.stdout.write(`${line}\n`);
      const again = databaseFlags(location);
      if (options.orders === undefined) {
        await runSeedScenarios({ location, leaseMs: options.leaseMs, quiet: options.quiet === true, logger, write });
      } else if (options.enqueueOnly === true) {
        const summary = await enqueueOrders({ location, orders: options.orders, failureRate: options.failureRate, seed: options.seed, logger });
        write(`orders       ${options.orders} (seed ${options.seed}, failure rate ${options.failureRate}), enqueued: nothing ran`);
        write(`created      ${summary.created}`);
        write(`existing     ${summary.existing}`);
        write(`elapsed      ${duration(summary.elapsedMs)}`);
        write("");
        write(`Run them with: sagaflow worker ${again}`);
      } else {
        const summary = await runManyOrders({
          location,
          orders: options.orders,
          failureRate: options.failureRate,
          stepDelayMs: options.stepDelayMs,
          concurrency: options.concurrency,
          seed: options.seed,
          leaseMs: options.leaseMs,
          quiet: options.quiet === true,
          logger,
        });
        const perSecond = summary.total / Math.max(summary.elapsedMs / 1_000, 0.001);
        write(`orders       ${summary.total} (seed ${options.seed}, failure rate ${options.failureRate}${summary.resumed > 0 ? `, ${summary.resumed} from an earlier run` : ""})`);
        write(`completed    ${summary.byStatus.completed}`);
        write(`compensated  ${summary.byStatus.compensated}`);
        write(`failed       ${summary.byStatus.failed}`);
        write(`throughput   ${perSecond.toFixed(1)} sagas/s`);
        write(`elapsed      ${duration(summary.elapsedMs)}`);
      }
      write("");
      write(`Demo database: ${describeDatabase(location)}`);
      write(`  inspect it with: sagaflow list ${again}   |   sagaflow demo ledger ${again}`);
    });
  command.addCommand(demoLedgerCommand());
  command.addCommand(demoTravelCommand());
  return withCommonOptions(command);
}

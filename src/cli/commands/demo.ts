import { Command, Option } from "commander";
import { duration } from "../format.js";
import { createCliLogger } from "../logger.js";
import { fraction, integerAtLeast, withCommonOptions, type CommonOptions } from "../options.js";
import { demoDatabasePath } from "../demo/demo-database.js";
import { runManyOrders } from "../demo/many-orders.js";
import { runSeedScenarios } from "../demo/seed-scenarios.js";
import { demoLedgerCommand } from "./demo-ledger.js";

interface DemoOptions extends CommonOptions {
  db?: string;
  orders?: number;
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
        "without --orders: the seed's two scenarios, narrated; with --orders N: N random orders and a summary",
    )
    .option("--db <file>", "database file to use or create (default: a fresh file in a new temporary directory)")
    .option("--orders <n>", "start N random orders instead of the seed's two scenarios", integerAtLeast(1))
    .option("--failure-rate <p>", "fraction of random orders that fail (half at the warehouse, half at the carrier)", fraction, 0.2)
    .option("--step-delay-ms <ms>", "simulated latency of every participant call", integerAtLeast(0), 0)
    .option("--concurrency <n>", "sagas driven at once", integerAtLeast(1), 32)
    .option("--seed <n>", "seed of the random orders; the same seed gives the same orders", integerAtLeast(0), 1)
    .addOption(new Option("--lease-ms <ms>", "how long a saga stays claimed by a worker that stopped renewing it").argParser(integerAtLeast(100)).default(15_000))
    .option("--quiet", "no narration and no progress bar; only results")
    .action(async (options: DemoOptions) => {
      const logger = createCliLogger(options.logLevel);
      const db = demoDatabasePath(options.db);
      const write = (line: string): void => void process.stdout.write(`${line}\n`);
      if (options.orders === undefined) {
        await runSeedScenarios({ dbPath: db.path, leaseMs: options.leaseMs, quiet: options.quiet === true, logger, write });
      } else {
        const summary = await runManyOrders({
          dbPath: db.path,
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
      write(`Demo database: ${db.path}`);
      write(`  inspect it with: sagaflow list --db ${db.path}   |   sagaflow demo ledger --db ${db.path}`);
    });
  command.addCommand(demoLedgerCommand());
  return withCommonOptions(command);
}

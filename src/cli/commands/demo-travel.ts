import { Command } from "commander";
import { integerAtLeast, withCommonOptions, type CommonOptions } from "../options.js";
import { demoDatabase } from "../demo/demo-database.js";
import { describeDatabase, openStore, type DatabaseFlags } from "../store.js";

interface TravelOptions extends CommonOptions, DatabaseFlags {
  delayMs: number;
  deadlineMs: number;
}

/** `sagaflow demo travel`: parallel reservations, an approval event, a sibling rollback and a deadline. */
export function demoTravelCommand(): Command {
  const command = new Command("travel")
    .summary("run the travel booking saga: parallel reservations, an approval event, a deadline")
    .description(
      "book four trips with the travel saga (flight, hotel and car in parallel, payment, a manager's approval as an event):\n" +
        "one approved early by policy, one approved by a manager while it waits, one whose car is refused (its parallel siblings\n" +
        "are cancelled and compensated), and one whose approval never comes (its deadline passes and it rolls back)",
    )
    .option("--db <file-or-url>", "SQLite file or postgres:// URL to use or create (default: a fresh file in a new temporary directory)")
    .option("--schema <name>", "PostgreSQL only: the schema for Sagaflow's tables (default: sagaflow)")
    .option("--delay-ms <ms>", "each supplier call's latency", integerAtLeast(0), 120)
    .option("--deadline-ms <ms>", "the travel saga's deadline", integerAtLeast(100), 1_500)
    .action(async (options: TravelOptions) => {
      // Loaded here, not at the top: `--help` and usage errors need neither the logger nor the saga.
      const [{ createCliLogger }, { runTravelDemo }] = await Promise.all([import("../logger.js"), import("../demo/travel.js")]);
      const location = demoDatabase(options, false);
      const store = await openStore(location, { mustExist: false });
      const write = (line: string): void => void process.stdout.write(`${line}\n`);
      try {
        await runTravelDemo({ store, logger: createCliLogger(options.logLevel), write, delayMs: options.delayMs, deadlineMs: options.deadlineMs });
      } finally {
        await store.close();
      }
      write(`Demo database: ${describeDatabase(location)} (sagaflow show trip-oslo --db …)`);
    });
  return withCommonOptions(command);
}

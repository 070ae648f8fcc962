import { Command } from "commander";
import { deliverSignal } from "../../runtime/signal.js";
import { UsageError } from "../errors.js";
import { withDatabaseOptions } from "../options.js";
import { resolveDatabase, withExistingStore, type DatabaseFlags } from "../store.js";

interface SignalCommandOptions extends DatabaseFlags {
  data?: string;
  id?: string;
  by: string;
}

/** `sagaflow signal ID NAME`: delivers a named event to a saga, as the library and HTTP API do. */
export function signalCommand(): Command {
  return withDatabaseOptions(new Command("signal"), "the database the saga lives in (never created)")
    .description(
      "send a named event (e.g. manager-approved) to a saga: a step waiting for it takes --data as its output, and an event\n" +
        "that arrives before the saga waits for it is kept until it does. A delivery whose --id the saga already recorded changes nothing.",
    )
    .argument("<id>", "the saga id (see `sagaflow list`)")
    .argument("<name>", "the event's name")
    .option("--data <json>", "the event's payload, as JSON (default null)")
    .option("--id <delivery>", "names this delivery; the same id again is a duplicate (default: the event's name)")
    .option("--by <who>", "who sends it, recorded in the history", "cli")
    .action(async (sagaId: string, name: string, options: SignalCommandOptions) => {
      const payload = parseData(options.data);
      const { duplicate } = await withExistingStore(resolveDatabase(options), (store) =>
        deliverSignal(store, Date.now(), sagaId, name, payload, { by: options.by, ...(options.id === undefined ? {} : { id: options.id }) }),
      );
      process.stdout.write(
        duplicate
          ? `saga ${sagaId} already received event ${name} (delivery ${options.id ?? name}); nothing changed\n`
          : `event ${name} delivered to saga ${sagaId}; a worker applies it with the saga's next step\n`,
      );
    });
}

function parseData(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--data must be JSON (e.g. '{"approved":true}' or '"yes"'): ${error instanceof Error ? error.message : String(error)}`);
  }
}

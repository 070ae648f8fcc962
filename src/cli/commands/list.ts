import { Command } from "commander";
import type { SagaState } from "../../domain/state.js";
import type { SagaStatus } from "../../domain/status.js";
import type { SagaStore } from "../../store/saga-store.js";
import { colourStatus, palette, printJson, table } from "../format.js";
import { integerAtLeast, statusList, withDatabaseOptions } from "../options.js";
import { resolveDatabase, withExistingStore, type DatabaseFlags } from "../store.js";
import { toListItem, type ListItemView } from "../views.js";

interface ListOptions extends DatabaseFlags {
  status?: SagaStatus[];
  definition?: string;
  limit: number;
  json?: boolean;
}

const PAGE = 1000;

/** `sagaflow list`: the newest sagas, filtered, as a table or JSON. */
export function listCommand(): Command {
  const command = withDatabaseOptions(new Command("list"), "the database to read (never created)")
    .description("list sagas, newest first")
    .option("--status <statuses>", "only these statuses (comma-separated or repeated): running, compensating, completed, compensated, failed", statusList)
    .option("--definition <name>", "only sagas of this definition")
    .option("--limit <n>", "at most this many sagas", integerAtLeast(1), 50)
    .option("--json", "print a JSON array (shape in docs/cli.md)")
    .action(async (options: ListOptions) => {
      const states = await withExistingStore(resolveDatabase(options), (store) => collect(store, options));
      const items = states.map(toListItem);
      if (options.json === true) printJson(items);
      else printTable(items);
    });
  return command;
}

async function collect(store: SagaStore, options: ListOptions): Promise<SagaState[]> {
  const states: SagaState[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listInstances({
      ...(options.status ? { statuses: options.status } : {}),
      ...(options.definition !== undefined ? { definitionName: options.definition } : {}),
      limit: Math.min(PAGE, options.limit - states.length),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    states.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && states.length < options.limit);
  return states;
}

function printTable(items: ListItemView[]): void {
  if (items.length === 0) {
    process.stdout.write("no sagas\n");
    return;
  }
  const colours = palette();
  const rows = items.map((item) => [
    item.id,
    `${item.definition}@${item.version}`,
    colourStatus(colours, item.status),
    item.idempotencyKey ?? colours.dim("-"),
    item.currentStep ?? colours.dim("-"),
    item.startedAt,
    item.endedAt ?? colours.dim("-"),
  ]);
  process.stdout.write(`${table(["ID", "DEFINITION", "STATUS", "KEY", "STEP", "STARTED", "ENDED"], rows, colours)}\n`);
}

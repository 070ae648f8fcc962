import { Command } from "commander";
import type { LedgerEntry } from "../../examples/order/ledger.js";
import { palette, printJson, table, type Palette } from "../format.js";
import { withDatabaseOptions } from "../options.js";
import { checkPostgres, participantTarget, resolveDatabase, type DatabaseFlags } from "../store.js";

interface LedgerOptions extends DatabaseFlags {
  json?: boolean;
}

/** `sagaflow demo ledger`: what the demo's participants booked, per order, from their own tables. */
export function demoLedgerCommand(): Command {
  const command = withDatabaseOptions(new Command("ledger"), "the demo database to read (never created)")
    .description("print what the demo's payment, inventory and shipping services hold per order, read from their own tables only")
    .option("--json", "print a JSON array (shape in docs/cli.md)")
    .action(async (options: LedgerOptions) => {
      const location = resolveDatabase(options);
      // Names the server when it cannot be reached; the ledger itself refuses a schema without the demo's tables.
      if (location.kind === "postgres") await checkPostgres(location, false);
      // The participants' database drivers load only when the ledger is read.
      const { ledger } = await import("../../examples/order/ledger.js");
      const entries = await ledger(participantTarget(location));
      if (options.json === true) printJson(entries);
      else process.stdout.write(`${render(entries, palette())}\n`);
    });
  return command;
}

function render(entries: LedgerEntry[], c: Palette): string {
  if (entries.length === 0) return "no orders";
  const mark = (value: string): string => (value === "reserved" || value === "created" ? c.green(value) : value === "none" ? c.dim(value) : c.yellow(value));
  const rows = entries.map((e) => [e.orderId, mark(e.payment), mark(e.stock), mark(e.shipment), String(e.replays)]);
  return table(["ORDER", "PAYMENT", "STOCK", "SHIPMENT", "REPLAYS"], rows, c);
}

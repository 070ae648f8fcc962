import { Command } from "commander";
import { requestAbort, requestCancel, requestResolve, requestRetry, requestSkip, type OperatorOptions } from "../../runtime/operator-actions.js";
import type { SagaStore } from "../../store/saga-store.js";
import { withDatabaseOptions } from "../options.js";
import { resolveDatabase, withExistingStore, type DatabaseFlags } from "../store.js";

interface OperatorCommandOptions extends DatabaseFlags {
  reason?: string;
  by: string;
}

/**
 * The operator's actions on one saga: cancel, retry, skip a compensation, mark resolved. Each is
 * checked and delivered to the saga's inbox, as the library and HTTP API do; a worker of the
 * database applies it (none runs here).
 */
export function operatorCommands(): Command[] {
  return [
    operatorCommand("cancel", "ask a running saga to roll back: a running step settles first, then what completed is compensated, newest first", "cancel requested", false, (store, id, options) =>
      requestCancel(store, Date.now(), id, options),
    ),
    operatorCommand(
      "abort",
      "stop a saga without compensating, for emergencies (--reason is recorded): what runs settles, nothing else starts, and it ends failed with the compensations it did not run outstanding",
      "abort requested",
      true,
      (store, id, options) => requestAbort(store, Date.now(), id, { ...options, reason: options.reason ?? "" }),
    ),
    operatorCommand(
      "retry",
      "retry a failed saga once its cause is fixed: its outstanding compensations (or the step it was parked on) run again with a fresh retry budget and the same idempotency key",
      "retry requested",
      false,
      (store, id, options) => requestRetry(store, Date.now(), id, options),
    ),
    withStep(
      operatorCommand(
        "skip",
        "for a failed saga: count the step's outstanding compensation as done by hand (--reason is recorded); the compensations after it then run",
        "compensation skip requested",
        true,
        (store, id, options, step) => requestSkip(store, Date.now(), id, step ?? "", { ...options, reason: options.reason ?? "" }),
      ),
    ),
    operatorCommand(
      "resolve",
      "mark a failed saga resolved (its outstanding work was settled outside Sagaflow): it stays failed, with who and why (--reason), and needs no more attention",
      "resolution requested",
      true,
      (store, id, options) => requestResolve(store, Date.now(), id, { ...options, reason: options.reason ?? "" }),
    ),
  ];
}

type Act = (store: SagaStore, sagaId: string, options: OperatorOptions, step?: string) => Promise<void>;

function operatorCommand(name: string, description: string, done: string, reasonRequired: boolean, act: Act): Command {
  const command = withDatabaseOptions(new Command(name), "the database the saga lives in (never created)")
    .description(description)
    .argument("<id>", "the saga id (see `sagaflow list`)")
    .option("--by <who>", "who asks, recorded in the history", "cli");
  if (reasonRequired) command.requiredOption("--reason <text>", "why, recorded in the history (e.g. \"refunded by hand, ticket OPS-42\")");
  else command.option("--reason <text>", "why, recorded in the history");
  return command.action(async (id: string, ...rest: unknown[]) => {
    // With a <step> argument commander passes it before the options.
    const [first, second] = rest;
    const step = typeof first === "string" ? first : undefined;
    const options = (typeof first === "string" ? second : first) as OperatorCommandOptions;
    await withExistingStore(resolveDatabase(options), (store) =>
      act(store, id, { by: options.by, ...(options.reason === undefined ? {} : { reason: options.reason }) }, step),
    );
    process.stdout.write(`${done} for saga ${id}${step === undefined ? "" : ` (step ${step})`}; a worker applies it (sagaflow show ${id} follows it)\n`);
  });
}

function withStep(command: Command): Command {
  return command.argument("<step>", "the step whose outstanding compensation to skip");
}

import { InvalidArgumentError, Option, type Command } from "commander";
import { SAGA_STATUSES, isSagaStatus, type SagaStatus } from "../domain/status.js";

/** Parses an integer ≥ `min`; commander reports the refusal as a usage error. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`must be an integer ≥ ${min}.`);
    }
    return parsed;
  };
}

/** Parses a fraction in [0, 1]. */
export function fraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
    throw new InvalidArgumentError("must be a number from 0 to 1.");
  }
  return parsed;
}

/** Parses `--status completed,failed` (repeatable), accumulating into one list. */
export function statusList(value: string, previous: SagaStatus[] | undefined): SagaStatus[] {
  const parts = value.split(",").map((part) => part.trim());
  for (const part of parts) {
    if (!isSagaStatus(part)) throw new InvalidArgumentError(`must be one of ${SAGA_STATUSES.join(", ")}.`);
  }
  return [...(previous ?? []), ...(parts as SagaStatus[])];
}

/** Pino's level names, `silent` included. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options every command takes. */
export interface CommonOptions {
  logLevel?: LogLevel;
}

/** Adds the options every command shares; here rather than on the program so they may follow the command name. */
export function withCommonOptions(command: Command): Command {
  return command.addOption(
    new Option("--log-level <level>", "log level for the structured logs on stderr (default: $SAGAFLOW_LOG_LEVEL or warn)").choices(LOG_LEVELS),
  );
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Parses `--schema`: a plain lower-case identifier, since it is spliced into SQL as a name. */
export function schemaName(value: string): string {
  if (!SCHEMA_NAME.test(value)) throw new InvalidArgumentError("must be lower-case letters, digits and _, starting with a letter or _ (at most 63).");
  return value;
}

/**
 * `--db FILE|URL` and `--schema NAME`. Neither is required here: `resolveDatabase` (cli/store.ts)
 * falls back to DATABASE_URL, or refuses the call when there is nothing to fall back to.
 */
export function withDatabaseOptions(command: Command, purpose: string): Command {
  return command
    .option("--db <file-or-url>", `${purpose}: a SQLite file or a postgres:// URL (default: $DATABASE_URL)`)
    .option("--schema <name>", "PostgreSQL only: the schema holding Sagaflow's tables (default: sagaflow)", schemaName);
}

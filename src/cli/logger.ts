import { pino, type Logger as PinoLogger } from "pino";
import { LOG_LEVELS, type LogLevel } from "./options.js";
import { UsageError } from "./errors.js";

/**
 * Structured logs go to stderr (stdout is for the command's output), synchronously so that
 * nothing is lost when the process exits right after logging. `fallback` is the level when
 * neither the flag nor SAGAFLOW_LOG_LEVEL sets one.
 */
export function createCliLogger(flag: LogLevel | undefined, env: NodeJS.ProcessEnv = process.env, fallback: LogLevel = "warn"): PinoLogger {
  const fromEnv = env.SAGAFLOW_LOG_LEVEL;
  if (flag === undefined && fromEnv !== undefined && fromEnv !== "" && !(LOG_LEVELS as readonly string[]).includes(fromEnv)) {
    throw new UsageError(`SAGAFLOW_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(fromEnv)}`);
  }
  const level = flag ?? (fromEnv === undefined || fromEnv === "" ? fallback : fromEnv);
  return pino({ name: "sagaflow", level }, pino.destination({ dest: 2, sync: true }));
}

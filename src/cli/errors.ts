import { CommanderError } from "commander";
import { ErrorCode, SagaflowError } from "../errors.js";

/** Exit codes: 0 done, 1 the command failed, 2 it was called wrongly (nothing was changed). */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
/** One of ExitCode's values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A flag value or argument the command refuses before doing anything. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** How an error ends the process: the code, and the one line for stderr (null when nothing is to be said). */
export function describeFailure(error: unknown): { exitCode: number; line: string | null } {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return { exitCode: ExitCode.Ok, line: null };
    // `sagaflow` with no command prints its help to stderr itself.
    if (error.code === "commander.help" || error.code === "commander.executeSubCommandAsync") return { exitCode: ExitCode.Usage, line: null };
    return { exitCode: ExitCode.Usage, line: oneLine(error.message.replace(/^error: /, "")) };
  }
  if (error instanceof UsageError) return { exitCode: ExitCode.Usage, line: oneLine(error.message) };
  if (error instanceof SagaflowError) {
    return { exitCode: error.code === ErrorCode.InvalidArgument ? ExitCode.Usage : ExitCode.Failure, line: oneLine(error.message) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.Failure, line: oneLine(message) };
}

function oneLine(text: string): string {
  return text
    .split("\n")
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .join(" ");
}

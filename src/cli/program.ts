import { Command } from "commander";
import { benchCommand } from "./commands/bench.js";
import { demoCommand } from "./commands/demo.js";
import { listCommand } from "./commands/list.js";
import { serverCommand } from "./commands/server.js";
import { showCommand } from "./commands/show.js";
import { signalCommand } from "./commands/signal.js";
import { operatorCommands } from "./commands/operator.js";
import { workerCommand } from "./commands/worker.js";
import { describeFailure } from "./errors.js";

const VERSION = "0.1.0";

/** The `sagaflow` command tree. Errors are thrown, never printed or exited on: `runCli` decides. */
export function createProgram(): Command {
  const program = new Command("sagaflow")
    .description("Durable saga orchestrator: run the demo, workers and benchmarks, and inspect sagas in a SQLite file or a PostgreSQL database.")
    .version(VERSION);
  program.addCommand(demoCommand());
  program.addCommand(workerCommand());
  program.addCommand(serverCommand());
  program.addCommand(listCommand());
  program.addCommand(showCommand());
  program.addCommand(signalCommand());
  for (const command of operatorCommands()) program.addCommand(command);
  program.addCommand(benchCommand());
  configureTree(program);
  return program;
}

// addCommand() does not pass settings down the tree (only .command() does), so set them on every node.
function configureTree(command: Command): void {
  command
    // Each command's options follow its name, so `demo ledger --db F` reaches `ledger`, not `demo`.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true);
  for (const sub of command.commands) configureTree(sub);
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code:
 * 0 done, 1 failed, 2 called wrongly. Failures are one `sagaflow: <message>` line on stderr.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    const { exitCode, line } = describeFailure(error);
    if (line !== null) process.stderr.write(`sagaflow: ${line}\n`);
    return exitCode;
  }
}

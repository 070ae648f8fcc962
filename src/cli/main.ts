import { runCli } from "./program.js";

// `sagaflow list | head` closes the pipe early: the reader's choice, not a failure to report.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
});

// exitCode rather than exit(): stdout may still be flushing to a pipe.
process.exitCode = await runCli(process.argv.slice(2));

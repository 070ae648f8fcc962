// Serves one example participant over HTTP, as its own process with its own SQLite file:
//   node --import tsx src/examples/services/main.ts <payments|inventory|shipping> --db FILE [--port P] [--step-delay-ms D]
// Prints `<service> listening on http://127.0.0.1:<port>` on stdout once it accepts calls (the
// participant's own lines go to stderr), and on SIGTERM or SIGINT stops accepting, lets in-flight
// calls finish, closes the database and exits 0. Bad arguments exit 2, a failed start 1.
import { parseServiceArgs, SERVICE_USAGE } from "./service-args.js";
import { startParticipantService } from "./start-participant-service.js";

// Listening before anything starts, so a signal that arrives during start-up still stops the service cleanly.
const signals = ["SIGTERM", "SIGINT"] as const;
let stopRequested: (signal: NodeJS.Signals) => void = () => undefined;
const stopped = new Promise<NodeJS.Signals>((resolve) => (stopRequested = resolve));
for (const signal of signals) process.on(signal, stopRequested);

process.exitCode = await serve(process.argv.slice(2));
for (const signal of signals) process.off(signal, stopRequested);

async function serve(argv: readonly string[]): Promise<number> {
  let options: ReturnType<typeof parseServiceArgs>;
  try {
    options = parseServiceArgs(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${SERVICE_USAGE}\n`);
    return 2;
  }
  let running: Awaited<ReturnType<typeof startParticipantService>>;
  try {
    running = await startParticipantService({ ...options, log: (line) => process.stderr.write(`${line}\n`) });
  } catch (error) {
    process.stderr.write(`${options.service} could not start on ${options.dbPath}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  process.stdout.write(`${running.service} listening on ${running.url}\n`);
  const signal = await stopped;
  process.stderr.write(`${running.service} received ${signal}; closing\n`);
  await running.close();
  return 0;
}

import { Command, Option } from "commander";
import { DEFAULT_BODY_LIMIT_BYTES } from "../../server/limits.js";
import { integerAtLeast, withCommonOptions, withDatabaseOptions } from "../options.js";
import type { ServerCommandOptions } from "./server-action.js";

/** `sagaflow server`: the HTTP API over an orchestrator that also runs the sagas. */
export function serverCommand(): Command {
  const command = withDatabaseOptions(new Command("server"), "where the sagas live (created if missing)")
    .summary("serve the HTTP API (/api/v1) and run the sagas it starts")
    .description(
      "serve the REST API under /api/v1 (OpenAPI document at /api/v1/openapi.json; probes at /healthz and /readyz) and run\n" +
        "the sagas of the definitions given by --module (and --example). Without a token the server listens on loopback only.\n" +
        "SIGTERM/SIGINT drains: new requests get 503, held sagas get --grace-ms to finish, then it exits 0.",
    )
    .option("--port <port>", "TCP port (0: any free one)", integerAtLeast(0), 8080)
    .option("--host <address>", "address to listen on; anything but loopback needs --token", "127.0.0.1")
    .addOption(new Option("--token <token>", "require Authorization: Bearer <token> on every API call (at least 16 characters)").env("SAGAFLOW_TOKEN"))
    .option("--body-limit <bytes>", "largest request body accepted (413 above it)", integerAtLeast(1024), DEFAULT_BODY_LIMIT_BYTES)
    .option("--module <file>", "a JavaScript module exporting saga definitions (`definitions` array or default export); repeatable", collect, [])
    .option("--definitions <dir>", "declarative saga definitions (*.yaml, *.yml, *.json) to save and run; ${VARIABLES} in their URLs come from the environment")
    .addOption(new Option("--example <name>", "also run a built-in example saga with its participants in the same database").choices(["order"]))
    .option("--concurrency <n>", "sagas driven at once", integerAtLeast(1), 32)
    .addOption(new Option("--lease-ms <ms>", "how long a claim holds without renewal").argParser(integerAtLeast(100)).default(15_000))
    .option("--grace-ms <ms>", "on SIGTERM/SIGINT, how long held sagas may run on before they are released", integerAtLeast(0), 10_000)
    .option("--name <name>", "worker id shown in history and leases (default: <hostname>:<pid>)")
    .option("--dashboard <dir>", "serve the dashboard from this build directory at / (default: the package's own build)")
    .option("--no-dashboard", "serve no dashboard, only the API, probes and metrics")
    // The server's dependencies (Fastify, its plugins, metrics, tracing) load only when it runs.
    .action(async (options: ServerCommandOptions) => (await import("./server-action.js")).runServer(options));
  return withCommonOptions(command);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

import { hostname } from "node:os";
import { Command, Option } from "commander";
import type { FastifyInstance } from "fastify";
import { createOrderSaga, openOrderServices } from "../../examples/order/index.js";
import { Orchestrator, type AnyDefinition } from "../../runtime/orchestrator.js";
import { DefinitionCatalog } from "../../server/definition-catalog.js";
import { API_PREFIX, createServer, DEFAULT_BODY_LIMIT_BYTES, SagaMetrics, sagaSpans, tracingInstrumentation, transitionLogger } from "../../server/index.js";
import { loadDefinitionModules } from "../definition-modules.js";
import { UsageError } from "../errors.js";
import { createCliLogger } from "../logger.js";
import { integerAtLeast, withCommonOptions, withDatabaseOptions, type CommonOptions } from "../options.js";
import { listenForStopSignals } from "../signals.js";
import { describeDatabase, openStore, participantTarget, resolveDatabase, type DatabaseFlags } from "../store.js";

interface ServerCommandOptions extends CommonOptions, DatabaseFlags {
  port: number;
  host: string;
  token?: string;
  bodyLimit: number;
  module: string[];
  definitions?: string;
  example?: "order";
  concurrency: number;
  leaseMs: number;
  graceMs: number;
  name?: string;
  /** A directory of dashboard files; `false` from `--no-dashboard`. */
  dashboard: string | boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
/** How often a server looks for definitions other servers of the fleet saved. */
const DEFINITIONS_REFRESH_MS = 5_000;

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
    .action(async (options: ServerCommandOptions) => {
      const logger = createCliLogger(options.logLevel, process.env, "info");
      const stop = listenForStopSignals();
      try {
        if (options.token !== undefined && options.token.length < 16) throw new UsageError("--token must be at least 16 characters");
        if (options.token === undefined && !LOOPBACK.has(options.host)) {
          throw new UsageError(`--host ${options.host} needs --token (or SAGAFLOW_TOKEN): without one the API would be open to anyone who can reach it`);
        }
        const location = resolveDatabase(options);
        const definitions: AnyDefinition[] = await loadDefinitionModules(options.module);
        const store = await openStore(location, { mustExist: false });
        const metrics = new SagaMetrics({ store });
        let participants: Awaited<ReturnType<typeof openOrderServices>> | undefined;
        let orchestrator: Orchestrator;
        const workerId = options.name ?? `${hostname()}:${process.pid}`;
        try {
          participants = options.example === "order" ? await openOrderServices(participantTarget(location)) : undefined;
          if (participants !== undefined) definitions.push(createOrderSaga(participants.services));
          orchestrator = await Orchestrator.create({
            store: metrics.instrumentStore(store),
            definitions,
            workerId,
            concurrency: options.concurrency,
            leaseMs: options.leaseMs,
            logger,
            // A no-op until an OpenTelemetry SDK is registered (e.g. node --import with the SDK's auto-setup).
            wrapAttempt: tracingInstrumentation(),
          });
          orchestrator.onTransition(metrics.observe);
          orchestrator.onTransition(sagaSpans());
          orchestrator.onTransition(transitionLogger(logger));
        } catch (error) {
          await store.close();
          await participants?.close();
          throw error;
        }
        const catalog = new DefinitionCatalog({ orchestrator, store, variables: process.env, logger });
        let app: FastifyInstance | undefined;
        let stopRefreshing = (): void => undefined;
        try {
          // Saved definitions first (other servers' PUTs), then this server's files, which may add new versions.
          await catalog.refresh();
          if (options.definitions !== undefined) {
            for (const outcome of await catalog.loadDirectory(options.definitions)) {
              logger.info({ definition: `${outcome.definition.name}@${outcome.definition.version}`, status: outcome.status }, "saga definition loaded");
            }
          }
          if (orchestrator.definitions.size === 0) {
            logger.warn({}, "no saga definitions yet: pass --module FILE, --definitions DIR or --example order, or PUT /api/v1/definitions/{name}");
          }
          stopRefreshing = catalog.refreshEvery(DEFINITIONS_REFRESH_MS);
          app = await createServer({
            orchestrator,
            logger,
            metrics,
            catalog,
            bodyLimitBytes: options.bodyLimit,
            ...(options.token === undefined ? {} : { token: options.token }),
            ...(options.dashboard === false ? { dashboardDirectory: null } : typeof options.dashboard === "string" ? { dashboardDirectory: options.dashboard } : {}),
          });
          const address = await app.listen({ port: options.port, host: options.host });
          const access = options.token === undefined ? `no token: listening on ${options.host} only` : "bearer token required";
          const dashboard = options.dashboard === false ? "" : `dashboard at ${address}/, `;
          process.stderr.write(`sagaflow: ${dashboard}API at ${address}${API_PREFIX} (${access}); sagas in ${describeDatabase(location)}; stop with Ctrl-C or SIGTERM\n`);
          logger.info({ address, workerId, store: describeDatabase(location), definitions: definitions.map((d) => `${d.name}@${d.version}`) }, "server started");
          const signal = await stop.received;
          logger.info({ signal, graceMs: options.graceMs }, "stopping: refusing new requests, letting held sagas finish");
        } finally {
          // Fastify answers 503 to requests that arrive while it closes, and waits for those in flight.
          stopRefreshing();
          await app?.close();
          await orchestrator.close(options.graceMs);
          await participants?.close();
        }
        process.stdout.write("server stopped\n");
        logger.info({ workerId }, "server stopped");
      } finally {
        stop.dispose();
      }
    });
  return withCommonOptions(command);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

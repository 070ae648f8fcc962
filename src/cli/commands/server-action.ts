// What `sagaflow server` does once its options are parsed; imported only then (see server.ts).
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import { createOrderSaga, openOrderServices } from "../../examples/order/index.js";
import { Orchestrator, type AnyDefinition } from "../../runtime/orchestrator.js";
import { DefinitionCatalog } from "../../server/definition-catalog.js";
import { API_PREFIX, createServer, SagaMetrics, sagaSpans, tracingInstrumentation, transitionLogger } from "../../server/index.js";
import { loadDefinitionModules } from "../definition-modules.js";
import { UsageError } from "../errors.js";
import { createCliLogger } from "../logger.js";
import { listenForStopSignals } from "../signals.js";
import { describeDatabase, openStore, participantTarget, resolveDatabase, type DatabaseFlags } from "../store.js";
import type { CommonOptions } from "../options.js";

/** `sagaflow server`'s options, as commander parses them (see server.ts). */
export interface ServerCommandOptions extends CommonOptions, DatabaseFlags {
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

/** Serves the API and runs the sagas until SIGTERM or SIGINT, then drains and returns. */
export async function runServer(options: ServerCommandOptions): Promise<void> {
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
}

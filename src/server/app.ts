import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { SagaMetrics } from "../observability/metrics.js";
import type { DefinitionCatalog } from "./definition-catalog.js";
import type { Orchestrator } from "../runtime/orchestrator.js";
import { bearerMatches } from "./auth.js";
import { BUNDLED_DASHBOARD_DIRECTORY, registerDashboard } from "./dashboard.js";
import { problem, sendProblem, toProblem } from "./problem.js";
import { definitionRoutes } from "./routes/definitions.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { sagaRoutes } from "./routes/sagas.js";
import { statsRoutes } from "./routes/stats.js";
import { API_PREFIX, DEFAULT_BODY_LIMIT_BYTES } from "./limits.js";
import { SHARED_SCHEMAS } from "./schemas.js";

/** The API's version prefix; a breaking change gets a new one beside it. */
export { API_PREFIX, DEFAULT_BODY_LIMIT_BYTES } from "./limits.js";

export interface ServerOptions {
  orchestrator: Orchestrator;
  /** When set, every `/api` request needs `Authorization: Bearer <token>`; probes stay open. */
  token?: string;
  /** Largest request body accepted; a larger one gets 413. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Request logs (a pino logger); default none. */
  logger?: FastifyBaseLogger;
  /** Served at `/metrics` when given (feed it with `orchestrator.onTransition(metrics.observe)`). */
  metrics?: SagaMetrics;
  /** With a catalog, `PUT /api/v1/definitions/{name}` registers declarative definitions. */
  catalog?: DefinitionCatalog;
  /**
   * The dashboard's built files, served at `/`; default the build in this package
   * (`BUNDLED_DASHBOARD_DIRECTORY`), `null` to serve no dashboard.
   */
  dashboardDirectory?: string | null;
}

/**
 * The HTTP API over an orchestrator, ready for `listen` or `inject`. It validates every body,
 * query and path against the route's schema before the handler runs, answers every error as
 * `application/problem+json`, and serves its own OpenAPI document at `/api/v1/openapi.json`.
 */
export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const token = options.token;
  if (token !== undefined && token.length < 16) throw new RangeError("token must be at least 16 characters");
  const app: FastifyInstance = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Fastify's JSON parser refuses __proto__ and constructor.prototype keys (400) by default; say so.
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // Above the longest valid id (128), so a longer one reaches the schema and gets its 400.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    // Errors raised before routing (a malformed URL, an overlong parameter) are problems too.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, toProblem(error, request));
    },
  });

  // Bodies and paths are checked strictly (no coercion: "5" is not 5, unknown properties are
  // refused rather than dropped); query strings are text, so their numbers and lists are coerced.
  const strict = compilerFor(false);
  const coercing = compilerFor("array");
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "querystring" ? coercing : strict).compile(schema));
  // Responses go out as JSON.stringify writes them; the response schemas document them (a test holds them to it).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Sagaflow",
        version: "1.0.0",
        description: "Start, inspect and cancel sagas run by a Sagaflow orchestrator. Errors are application/problem+json (RFC 9457).",
      },
      components: token === undefined ? {} : { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      ...(token === undefined ? {} : { security: [{ bearer: [] }] }),
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = toProblem(error, request);
    if (body.status >= 500) request.log.error({ err: error }, "request failed");
    return sendProblem(reply, body);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem(404, "NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0] ?? ""}`)));

  if (token !== undefined) {
    app.addHook("onRequest", async (request, reply) => {
      if (!request.url.startsWith("/api/")) return;
      if (bearerMatches(request.headers.authorization, token)) return;
      reply.header("WWW-Authenticate", 'Bearer realm="sagaflow"');
      await sendProblem(reply, problem(401, "UNAUTHORIZED", "this server needs Authorization: Bearer <token> (the token it was started with)"));
    });
  }

  await app.register(healthRoutes, { orchestrator: options.orchestrator });
  if (options.metrics !== undefined) await app.register(metricsRoute, { registry: options.metrics.registry });
  await app.register(sagaRoutes, { prefix: API_PREFIX, orchestrator: options.orchestrator });
  await app.register(definitionRoutes, { prefix: API_PREFIX, orchestrator: options.orchestrator, catalog: options.catalog });
  await app.register(statsRoutes, { prefix: API_PREFIX, orchestrator: options.orchestrator });
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, () => app.swagger());
  const dashboard = options.dashboardDirectory === undefined ? BUNDLED_DASHBOARD_DIRECTORY : options.dashboardDirectory;
  if (dashboard !== null) await registerDashboard(app, dashboard);
  await app.ready();
  return app;
}

function compilerFor(coerceTypes: false | "array"): Ajv {
  const ajv = new Ajv({ allErrors: false, coerceTypes, useDefaults: true, removeAdditional: false, strict: false });
  addFormats.default(ajv, ["date-time"]);
  for (const schema of SHARED_SCHEMAS) ajv.addSchema(schema);
  return ajv;
}

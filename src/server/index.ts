// The HTTP API (`sagaflow/server`): Fastify routes over an Orchestrator. Nothing else in the
// package imports this, so a library user who never serves HTTP never loads Fastify.
export { createServer, API_PREFIX, DEFAULT_BODY_LIMIT_BYTES } from "./app.js";
export { BUNDLED_DASHBOARD_DIRECTORY } from "./dashboard.js";
export type { ServerOptions } from "./app.js";
export { PROBLEM_MEDIA_TYPE } from "./problem.js";
export type { Problem } from "./problem.js";
export { SagaMetrics, sagaSpans, sagaTraceContext, transitionLogger, tracingInstrumentation } from "../observability/index.js";
export type { SagaMetricsOptions } from "../observability/index.js";

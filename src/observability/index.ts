// Metrics (prom-client) and structured transition logs for an orchestrator, kept apart from the
// runtime so that a library user who wants neither loads neither.
export { SagaMetrics } from "./metrics.js";
export type { SagaMetricsOptions } from "./metrics.js";
export { transitionLogger } from "./transition-log.js";
export { sagaSpans, sagaTraceContext, tracingInstrumentation, TRACER_NAME } from "./tracing.js";

import { SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import type { AttemptWrapper } from "../runtime/saga-driver.js";

/** The instrumentation scope of Sagaflow's spans. */
export const TRACER_NAME = "sagaflow";

/**
 * An attempt wrapper (`Orchestrator.create({ wrapAttempt })`) that runs each attempt of an action
 * or compensation inside an OpenTelemetry span: `saga.action <step>` or `saga.compensation <step>`,
 * with the saga id, definition, step, phase, attempt and idempotency key as attributes, and an
 * error status (with the error's name and message) when the attempt failed. The step's own calls
 * run in the span's context, so an instrumented HTTP client, or `propagation.inject`, sends its
 * `traceparent` to the participant. Without an SDK registered by the host application the API is
 * a no-op and this costs a function call per attempt.
 */
export function tracingInstrumentation(tracer: Tracer = trace.getTracer(TRACER_NAME)): AttemptWrapper {
  return (info, run) =>
    tracer.startActiveSpan(
      `saga.${info.phase} ${info.step}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          "sagaflow.saga_id": info.sagaId,
          "sagaflow.definition": info.definitionName,
          "sagaflow.definition_version": info.definitionVersion,
          "sagaflow.step": info.step,
          "sagaflow.phase": info.phase,
          "sagaflow.attempt": info.attempt,
          "sagaflow.idempotency_key": info.idempotencyKey,
        },
      },
      async (span) => {
        try {
          const event = await run();
          if (event.type === "action_failed" || event.type === "compensation_failed") {
            span.setStatus({ code: SpanStatusCode.ERROR, message: `${event.error.name}: ${event.error.message}` });
            span.setAttributes({ "sagaflow.retryable": event.retryable, "sagaflow.timed_out": event.timedOut });
          } else {
            span.setStatus({ code: SpanStatusCode.OK });
          }
          return event;
        } finally {
          span.end();
        }
      },
    );
}

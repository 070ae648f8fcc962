import { createHash } from "node:crypto";
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Tracer } from "@opentelemetry/api";
import type { AttemptWrapper, TransitionNotice } from "../runtime/saga-driver.js";

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
      sagaTraceContext(info.sagaId),
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

/**
 * The trace a saga's spans belong to, on whichever worker makes them: its trace id and parent
 * span id are derived from the saga id, so a saga that runs for days across many workers is one
 * trace, found by its id (the first 32 hex digits of sha256(sagaId)).
 */
export function sagaTraceContext(sagaId: string, base: Context = context.active()): Context {
  const digest = createHash("sha256").update(sagaId, "utf8").digest("hex");
  return trace.setSpanContext(base, { traceId: digest.slice(0, 32), spanId: digest.slice(32, 48), traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

/**
 * A transition listener (`orchestrator.onTransition(sagaSpans())`) that records one span per saga
 * when it ends, from its creation to its end, in the saga's trace beside its attempts' spans:
 * `saga <definition>` with its id, definition, version and final status (an error status when it
 * ended failed).
 */
export function sagaSpans(tracer: Tracer = trace.getTracer(TRACER_NAME)): (notice: TransitionNotice) => void {
  return ({ sagaId, state, history }) => {
    for (const entry of history) {
      if (entry.type !== "saga_ended") continue;
      const span = tracer.startSpan(
        `saga ${state.definitionName}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: state.createdAtMs,
          attributes: {
            "sagaflow.saga_id": sagaId,
            "sagaflow.definition": state.definitionName,
            "sagaflow.definition_version": state.definitionVersion,
            "sagaflow.status": entry.status,
            ...(entry.reason === undefined ? {} : { "sagaflow.stop_reason": entry.reason }),
          },
        },
        sagaTraceContext(sagaId),
      );
      span.setStatus(entry.status === "failed" ? { code: SpanStatusCode.ERROR, message: `ended failed (${entry.reason ?? "unknown"})` } : { code: SpanStatusCode.OK });
      span.end(entry.atMs);
    }
  };
}

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { RetryableError } from "../../errors.js";
import { problem, sendProblem, toProblem, type Problem } from "../../server/problem.js";

/** The header every state-changing call needs; Node hands headers over in lower case. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Where a problem about the Idempotency-Key header points. */
export const IDEMPOTENCY_KEY_FIELD = `headers.${IDEMPOTENCY_KEY_HEADER}`;

// problem() knows the titles of the orchestrator API's statuses; these services answer two more.
const EXTRA_TITLES: Record<number, string> = { 422: "Unprocessable Content", 423: "Locked" };

/** A problem body (RFC 9457), titled for statuses the orchestrator API never sends. */
export function serviceProblem(status: number, code: string, detail: string, field?: string): Problem {
  const body = problem(status, code, detail, field);
  const title = EXTRA_TITLES[status];
  return title === undefined ? body : { ...body, title };
}

/**
 * The services' error handler. A RetryableError (the payment gateway's transient refusal) is a
 * 503, with Retry-After when it says when, so an HTTP caller retries it; everything else is
 * answered as the orchestrator API answers it (schema violations: 400 naming the field).
 */
export function sendServiceError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof RetryableError) {
    if (error.retryAfterMs !== undefined) reply.header("Retry-After", String(Math.ceil(error.retryAfterMs / 1000)));
    return sendProblem(reply, serviceProblem(503, error.code, error.message));
  }
  const body = toProblem(error, request);
  if (body.status >= 500) request.log.error({ err: error }, "request failed");
  return sendProblem(reply, body);
}

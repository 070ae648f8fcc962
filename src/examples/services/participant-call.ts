import type { FastifyReply, FastifyRequest } from "fastify";
import { TerminalError } from "../../errors.js";
import { sendProblem } from "../../server/problem.js";
import type { CallOptions, ParticipantDb } from "../order/participant-db.js";
import { IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER, serviceProblem } from "./service-problems.js";

/** Longest Idempotency-Key accepted; the orchestrator's `<sagaId>:<step>:compensate` fits well inside. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * preValidation hook of every state-changing route: without an Idempotency-Key header the call
 * is refused (400) before its body is even looked at, since a retry of it could take effect twice.
 */
export async function requireIdempotencyKey(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof key === "string" && key.length > 0 && key.length <= MAX_IDEMPOTENCY_KEY_LENGTH) return undefined;
  const detail =
    typeof key === "string" && key.length > 0
      ? `the Idempotency-Key header is ${key.length} characters long; at most ${MAX_IDEMPOTENCY_KEY_LENGTH} are accepted`
      : `${request.method} ${request.url} changes state, so it needs an Idempotency-Key header; send the same key when you repeat the call`;
  return sendProblem(reply, serviceProblem(400, "IDEMPOTENCY_KEY_REQUIRED", detail, IDEMPOTENCY_KEY_FIELD));
}

/** One state-changing call of a route, and how to answer it. */
export interface ParticipantCall<T> {
  /** The `service` and `operation` the participant class records its idempotency keys under. */
  service: string;
  operation: string;
  orderId: string;
  /** Status of a successful answer, first time and on every repeat. */
  successStatus: 200 | 201;
  /** How to answer the participant's TerminalError: a 4xx other than 429, so the saga compensates. */
  refusal: { status: number; code: string };
  invoke: (options: CallOptions) => Promise<T>;
}

// Reads what an idempotency key was first used for. $1 key.
const KEY_USE = "SELECT service, operation, order_id FROM demo_idempotency WHERE idempotency_key = $1";

/**
 * Runs `call` with the request's Idempotency-Key and answers it. The participant class makes the
 * key take effect once: a repeat gets the recorded outcome, success or refusal, with the same
 * status. A key already used for another operation or order is refused (422) rather than answered
 * with that other call's outcome; the request body itself is not fingerprinted, so a repeat
 * with the same order but other values gets the first call's outcome.
 */
export async function answerParticipantCall<T>(db: ParticipantDb, request: FastifyRequest, reply: FastifyReply, call: ParticipantCall<T>): Promise<FastifyReply> {
  const idempotencyKey = request.headers[IDEMPOTENCY_KEY_HEADER] as string; // requireIdempotencyKey ran first.
  const [used] = await db.query<{ service: string; operation: string; order_id: string }>(KEY_USE, [idempotencyKey]);
  if (used !== undefined && (used.service !== call.service || used.operation !== call.operation || used.order_id !== call.orderId)) {
    const detail = `Idempotency-Key ${JSON.stringify(idempotencyKey)} was used for ${used.service} ${used.operation} of order ${used.order_id}, not for ${call.service} ${call.operation} of order ${call.orderId}; use a new key for a different call`;
    return sendProblem(reply, serviceProblem(422, "IDEMPOTENCY_KEY_REUSED", detail, IDEMPOTENCY_KEY_FIELD));
  }
  try {
    const result = await call.invoke({ idempotencyKey });
    return reply.code(call.successStatus).send(result);
  } catch (error) {
    if (!(error instanceof TerminalError)) throw error;
    return sendProblem(reply, serviceProblem(call.refusal.status, call.refusal.code, `${call.service} ${call.operation} of order ${call.orderId} refused: ${error.message}`));
  }
}

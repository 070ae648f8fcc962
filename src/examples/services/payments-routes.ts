import type { FastifyPluginCallback } from "fastify";
import type { ParticipantDb, ParticipantOptions } from "../order/participant-db.js";
import { PaymentMethod } from "../order/order-input.js";
import { PaymentService } from "../order/payment-service.js";
import { countSchema, textSchema } from "./body-schemas.js";
import { answerParticipantCall, requireIdempotencyKey } from "./participant-call.js";
import { serviceProblem } from "./service-problems.js";
import { sendProblem } from "../../server/problem.js";

interface ReserveBody {
  orderId: string;
  customerId: string;
  amountCents: number;
  paymentMethod: PaymentMethod;
}

interface ReleaseBody {
  orderId: string;
  /** Absent or null when the reservation's outcome was never learned: the order's reservation is released then. */
  paymentId?: string | null;
}

const reserveBody = {
  type: "object",
  required: ["orderId", "customerId", "amountCents", "paymentMethod"],
  properties: {
    orderId: textSchema,
    customerId: textSchema,
    amountCents: countSchema,
    paymentMethod: { type: "string", enum: Object.values(PaymentMethod) },
  },
  additionalProperties: false,
} as const;

const releaseBody = {
  type: "object",
  required: ["orderId"],
  properties: { orderId: textSchema, paymentId: { anyOf: [textSchema, { type: "null" }] } },
  additionalProperties: false,
} as const;

/**
 * Releases an operator has put on hold (a fraud check, a disputed refund): while an order is on
 * hold, its release is refused without being recorded, so the same call goes through once the
 * hold is lifted. The orchestrator sees a permanent refusal (423), gives the compensation up and
 * parks the saga `failed` for an operator, who lifts the hold and retries the saga.
 */
const CREATE_HOLDS = "CREATE TABLE IF NOT EXISTS demo_release_holds (order_id TEXT PRIMARY KEY, reason TEXT NOT NULL, held_at_ms INTEGER NOT NULL)";
const SELECT_HOLD = "SELECT reason FROM demo_release_holds WHERE order_id = $1";
const UPSERT_HOLD = "INSERT INTO demo_release_holds (order_id, reason, held_at_ms) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO UPDATE SET reason = excluded.reason";
const DELETE_HOLD = "DELETE FROM demo_release_holds WHERE order_id = $1";

const holdBody = {
  type: "object",
  required: ["orderId", "reason"],
  properties: { orderId: textSchema, reason: textSchema },
  additionalProperties: false,
} as const;

/**
 * The payment service: `POST /payments` holds an amount (201 `{ paymentId, amountCents }`, 409 when
 * the order already holds a payment under another key); `POST /payments/release` gives it back
 * (200 `{ released }`, 503 on the bank-transfer gateway's transient refusal, 423 while the order's
 * release is on hold); `POST /admin/holds` and `DELETE /admin/holds/{orderId}` put and lift holds.
 */
export const paymentsRoutes: FastifyPluginCallback<{ db: ParticipantDb; options: ParticipantOptions }> = (app, { db, options }, done) => {
  const payments = new PaymentService(db, options);

  app.post<{ Body: ReserveBody }>("/payments", { schema: { body: reserveBody }, preValidation: requireIdempotencyKey }, (request, reply) => {
    const { orderId, customerId, amountCents, paymentMethod } = request.body;
    return answerParticipantCall(db, request, reply, {
      service: "payment",
      operation: "reserve",
      orderId,
      successStatus: 201,
      refusal: { status: 409, code: "PAYMENT_ALREADY_RESERVED" },
      invoke: (call) => payments.reserve({ orderId, customerId, amountCents, method: paymentMethod }, call),
    });
  });

  // A release names the order, not only the payment: a compensation may run without the
  // reservation's output (its answer was lost), and must still find what to release.
  app.post<{ Body: ReleaseBody }>("/payments/release", { schema: { body: releaseBody }, preValidation: requireIdempotencyKey }, async (request, reply) => {
    const { orderId, paymentId = null } = request.body;
    const [hold] = await db.query<{ reason: string }>(SELECT_HOLD, [orderId]);
    if (hold !== undefined) {
      return sendProblem(reply, serviceProblem(423, "RELEASE_ON_HOLD", `the payment of order ${orderId} cannot be released while it is on hold (${hold.reason}); an operator must lift the hold`));
    }
    return answerParticipantCall(db, request, reply, {
      service: "payment",
      operation: "release",
      orderId,
      successStatus: 200,
      // PaymentService.release never refuses for good; a TerminalError here would be a bug upstream.
      refusal: { status: 409, code: "PAYMENT_RELEASE_REFUSED" },
      invoke: (call) => payments.release(orderId, paymentId, call),
    });
  });

  app.post<{ Body: { orderId: string; reason: string } }>("/admin/holds", { schema: { body: holdBody } }, async (request, reply) => {
    await db.run(UPSERT_HOLD, [request.body.orderId, request.body.reason, Date.now()]);
    return reply.code(201).send({ orderId: request.body.orderId, held: true });
  });

  app.delete<{ Params: { orderId: string } }>("/admin/holds/:orderId", async (request, reply) => {
    const lifted = await db.run(DELETE_HOLD, [request.params.orderId]);
    return reply.code(200).send({ orderId: request.params.orderId, lifted: lifted > 0 });
  });

  db.run(CREATE_HOLDS).then(
    () => done(),
    (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
  );
};

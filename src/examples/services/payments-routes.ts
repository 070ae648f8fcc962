import type { FastifyPluginCallback } from "fastify";
import type { ParticipantDb, ParticipantOptions } from "../order/participant-db.js";
import { PaymentMethod } from "../order/order-input.js";
import { PaymentService } from "../order/payment-service.js";
import { countSchema, textSchema } from "./body-schemas.js";
import { answerParticipantCall, requireIdempotencyKey } from "./participant-call.js";

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
 * The payment service: `POST /payments` holds an amount (201 `{ paymentId, amountCents }`, 409 when
 * the order already holds a payment under another key); `POST /payments/release` gives it back
 * (200 `{ released }`, 503 on the bank-transfer gateway's transient refusal).
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
  app.post<{ Body: ReleaseBody }>("/payments/release", { schema: { body: releaseBody }, preValidation: requireIdempotencyKey }, (request, reply) => {
    const { orderId, paymentId = null } = request.body;
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
  done();
};

import type { FastifyPluginCallback } from "fastify";
import type { ShippingAddress } from "../order/order-input.js";
import type { ParticipantDb, ParticipantOptions } from "../order/participant-db.js";
import { ShippingService } from "../order/shipping-service.js";
import { orderIdBody, textSchema, type OrderIdBody } from "./body-schemas.js";
import { answerParticipantCall, requireIdempotencyKey } from "./participant-call.js";

interface CreateBody {
  orderId: string;
  paymentId: string;
  stockReservationId: string;
  address: ShippingAddress;
}

const createBody = {
  type: "object",
  required: ["orderId", "paymentId", "stockReservationId", "address"],
  properties: {
    orderId: textSchema,
    paymentId: textSchema,
    stockReservationId: textSchema,
    address: {
      type: "object",
      required: ["city", "country"],
      properties: { city: textSchema, country: { type: "string", pattern: "^[A-Z]{2}$" } },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

/**
 * The carrier: `POST /shipments` books a shipment (201 `{ shipmentId }`, 422 for a country it does
 * not serve); `POST /shipments/cancel` cancels the order's shipment (200 `{ cancelled }`).
 */
export const shippingRoutes: FastifyPluginCallback<{ db: ParticipantDb; options: ParticipantOptions }> = (app, { db, options }, done) => {
  const shipping = new ShippingService(db, options);

  app.post<{ Body: CreateBody }>("/shipments", { schema: { body: createBody }, preValidation: requireIdempotencyKey }, (request, reply) => {
    const { orderId, paymentId, stockReservationId, address } = request.body;
    return answerParticipantCall(db, request, reply, {
      service: "shipping",
      operation: "create",
      orderId,
      successStatus: 201,
      // The address is well-formed (the schema checked it) but cannot be served: 422, never retried.
      refusal: { status: 422, code: "ADDRESS_UNDELIVERABLE" },
      invoke: (call) => shipping.create({ orderId, paymentId, stockReservationId, address }, call),
    });
  });

  // By order: ShipOrder compensates even when its own answer never arrived (compensateOnFailure).
  app.post<{ Body: OrderIdBody }>("/shipments/cancel", { schema: { body: orderIdBody }, preValidation: requireIdempotencyKey }, (request, reply) => {
    const { orderId } = request.body;
    return answerParticipantCall(db, request, reply, {
      service: "shipping",
      operation: "cancel",
      orderId,
      successStatus: 200,
      refusal: { status: 409, code: "SHIPMENT_CANCEL_REFUSED" },
      invoke: (call) => shipping.cancel(orderId, call),
    });
  });
  done();
};

import type { FastifyPluginCallback } from "fastify";
import { InventoryService } from "../order/inventory-service.js";
import type { ParticipantDb, ParticipantOptions } from "../order/participant-db.js";
import { countSchema, orderIdBody, textSchema, type OrderIdBody } from "./body-schemas.js";
import { answerParticipantCall, requireIdempotencyKey } from "./participant-call.js";

interface ReserveBody {
  orderId: string;
  sku: string;
  quantity: number;
}

const reserveBody = {
  type: "object",
  required: ["orderId", "sku", "quantity"],
  properties: { orderId: textSchema, sku: textSchema, quantity: countSchema },
  additionalProperties: false,
} as const;

/**
 * The warehouse: `POST /reservations` takes stock off the shelf (201 `{ reservationId, sku,
 * quantity }`, 409 when the SKU is out of stock or unknown, as SKU-DISCONTINUED is for the seed's
 * fail-inventory order); `POST /reservations/release` puts the order's stock back (200 `{ released }`).
 */
export const inventoryRoutes: FastifyPluginCallback<{ db: ParticipantDb; options: ParticipantOptions }> = (app, { db, options }, done) => {
  const inventory = new InventoryService(db, options);

  app.post<{ Body: ReserveBody }>("/reservations", { schema: { body: reserveBody }, preValidation: requireIdempotencyKey }, (request, reply) => {
    const { orderId, sku, quantity } = request.body;
    return answerParticipantCall(db, request, reply, {
      service: "inventory",
      operation: "reserve",
      orderId,
      successStatus: 201,
      refusal: { status: 409, code: "INVENTORY_UNAVAILABLE" },
      invoke: (call) => inventory.reserve(orderId, sku, quantity, call),
    });
  });

  // By order rather than by reservation id: the compensation may run without the reservation's output.
  app.post<{ Body: OrderIdBody }>("/reservations/release", { schema: { body: orderIdBody }, preValidation: requireIdempotencyKey }, (request, reply) => {
    const { orderId } = request.body;
    return answerParticipantCall(db, request, reply, {
      service: "inventory",
      operation: "release",
      orderId,
      successStatus: 200,
      refusal: { status: 409, code: "INVENTORY_RELEASE_REFUSED" },
      invoke: (call) => inventory.release(orderId, call),
    });
  });
  done();
};

import { randomUUID } from "node:crypto";
import { TerminalError } from "../../errors.js";
import { applyOnce } from "./apply-once.js";
import { run } from "./participant-statements.js";
import { simulateLatency, type CallOptions, type ParticipantDb, type ParticipantOptions } from "./participant-db.js";
import type { ShippingAddress } from "./order-input.js";

/** Countries the example carrier delivers to; any other address is undeliverable. */
export const SERVED_COUNTRIES: readonly string[] = Object.freeze(["DE", "FR", "GB", "NL", "US"]);

/** The output of ShipOrder. */
export interface Shipment {
  shipmentId: string;
}

/** What ShipOrder asks the carrier for; the ids tie the shipment to the earlier steps' bookings. */
export interface ShipmentRequest {
  orderId: string;
  paymentId: string;
  stockReservationId: string;
  address: ShippingAddress;
}

/** The example carrier: books a shipment for an address it serves, and can cancel one. */
export class ShippingService {
  readonly #db: ParticipantDb;
  readonly #options: ParticipantOptions;

  constructor(db: ParticipantDb, options: ParticipantOptions = {}) {
    this.#db = db;
    this.#options = options;
  }

  /** Books the shipment; TerminalError "address undeliverable" for a country it does not serve. */
  async create(request: ShipmentRequest, call: CallOptions): Promise<Shipment> {
    this.#options.log?.(`[Shipping] creating shipment for order ${request.orderId}`);
    await simulateLatency(this.#options.stepDelayMs ?? 0, call.signal);
    return applyOnce(this.#db, {
      service: "shipping",
      operation: "create",
      orderId: request.orderId,
      idempotencyKey: call.idempotencyKey,
      apply: function* () {
        if (!SERVED_COUNTRIES.includes(request.address.country)) throw new TerminalError("address undeliverable");
        const shipmentId = `shp_${randomUUID()}`;
        yield* run(
          "INSERT INTO demo_shipments (shipment_id, order_id, payment_id, stock_reservation_id, country, city, status, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'created', $7)",
          [shipmentId, request.orderId, request.paymentId, request.stockReservationId, request.address.country, request.address.city, Date.now()],
        );
        return { shipmentId };
      },
    });
  }

  /** Cancels the order's shipment, if one was booked; a no-op otherwise. */
  async cancel(orderId: string, call: CallOptions): Promise<{ cancelled: boolean }> {
    this.#options.log?.(`[Shipping] cancelling shipment for order ${orderId}`);
    await simulateLatency(this.#options.stepDelayMs ?? 0, call.signal);
    return applyOnce(this.#db, {
      service: "shipping",
      operation: "cancel",
      orderId,
      idempotencyKey: call.idempotencyKey,
      apply: function* () {
        const changed = yield* run("UPDATE demo_shipments SET status = 'cancelled', cancelled_at_ms = $1 WHERE order_id = $2 AND status = 'created'", [
          Date.now(),
          orderId,
        ]);
        return { cancelled: changed > 0 };
      },
    });
  }
}

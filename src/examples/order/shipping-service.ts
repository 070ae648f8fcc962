import { randomUUID } from "node:crypto";
import { TerminalError } from "../../errors.js";
import { applyOnce, simulateLatency, type CallOptions, type ParticipantDb, type ParticipantOptions } from "./participant-db.js";
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
      apply: () => {
        if (!SERVED_COUNTRIES.includes(request.address.country)) throw new TerminalError("address undeliverable");
        const shipmentId = `shp_${randomUUID()}`;
        this.#db
          .prepare(
            "INSERT INTO demo_shipments (shipment_id, order_id, payment_id, stock_reservation_id, country, city, status, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, 'created', ?)",
          )
          .run(shipmentId, request.orderId, request.paymentId, request.stockReservationId, request.address.country, request.address.city, Date.now());
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
      apply: () => {
        const changed = this.#db
          .prepare("UPDATE demo_shipments SET status = 'cancelled', cancelled_at_ms = ? WHERE order_id = ? AND status = 'created'")
          .run(Date.now(), orderId).changes;
        return { cancelled: changed > 0 };
      },
    });
  }
}

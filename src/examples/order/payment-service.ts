import { randomUUID } from "node:crypto";
import { RetryableError, TerminalError } from "../../errors.js";
import { applyOnce } from "./apply-once.js";
import { query, run } from "./participant-statements.js";
import { simulateLatency, type CallOptions, type ParticipantDb, type ParticipantOptions } from "./participant-db.js";
import type { PaymentMethod } from "./order-input.js";

/** The output of ReservePayment, handed to later steps and to its compensation. */
export interface PaymentReservation {
  paymentId: string;
  amountCents: number;
}

/** What ReservePayment asks the payment service for. */
export interface PaymentRequest {
  orderId: string;
  customerId: string;
  amountCents: number;
  method: PaymentMethod;
}

/**
 * The example payment service. Its one quirk: the bank-transfer gateway refuses the first
 * release of every reservation with a transient error (recorded in its table, so the quirk
 * survives crashes), which the saga's compensation policy retries.
 */
export class PaymentService {
  readonly #db: ParticipantDb;
  readonly #options: ParticipantOptions;

  constructor(db: ParticipantDb, options: ParticipantOptions = {}) {
    this.#db = db;
    this.#options = options;
  }

  /** Holds the amount for the order. An order holds at most one reservation. */
  async reserve(request: PaymentRequest, call: CallOptions): Promise<PaymentReservation> {
    this.#options.log?.(`[Payment] reserving payment for order ${request.orderId}`);
    await simulateLatency(this.#options.stepDelayMs ?? 0, call.signal);
    return applyOnce(this.#db, {
      service: "payment",
      operation: "reserve",
      orderId: request.orderId,
      idempotencyKey: call.idempotencyKey,
      apply: function* () {
        const existing = yield* query("SELECT 1 AS found FROM demo_payments WHERE order_id = $1", [request.orderId]);
        if (existing.length > 0) throw new TerminalError(`order ${request.orderId} already holds a payment reservation`);
        const paymentId = `pay_${randomUUID()}`;
        yield* run(
          "INSERT INTO demo_payments (payment_id, order_id, customer_id, amount_cents, method, status, reserved_at_ms) VALUES ($1, $2, $3, $4, $5, 'reserved', $6)",
          [paymentId, request.orderId, request.customerId, request.amountCents, request.method, Date.now()],
        );
        return { paymentId, amountCents: request.amountCents };
      },
    });
  }

  /**
   * Gives the held amount back. `paymentId` is null when the reservation's outcome was never
   * learned (its last attempt timed out): the order's reservation, if any, is released then.
   */
  async release(orderId: string, paymentId: string | null, call: CallOptions): Promise<{ released: boolean }> {
    this.#options.log?.(`[Payment] compensating payment for order ${orderId}`);
    await simulateLatency(this.#options.stepDelayMs ?? 0, call.signal);
    if (await this.#gatewayRefusesFirstRelease(orderId)) {
      throw new RetryableError(`payment gateway timed out releasing the payment for order ${orderId}; try again`);
    }
    return applyOnce(this.#db, {
      service: "payment",
      operation: "release",
      orderId,
      idempotencyKey: call.idempotencyKey,
      apply: function* () {
        // CAST: PostgreSQL cannot infer the type of a parameter that is only compared with NULL.
        const changed = yield* run(
          "UPDATE demo_payments SET status = 'released', released_at_ms = $1 WHERE order_id = $2 AND status = 'reserved' AND (CAST($3 AS TEXT) IS NULL OR payment_id = $3)",
          [Date.now(), orderId, paymentId],
        );
        return { released: changed > 0 };
      },
    });
  }

  async #gatewayRefusesFirstRelease(orderId: string): Promise<boolean> {
    // Counted in its own committed statement: the refusal must stay "already happened" after a
    // crash. One conditional UPDATE, so of two concurrent first releases only one is refused.
    const refused = await this.#db.run(
      "UPDATE demo_payments SET release_failures = release_failures + 1 WHERE order_id = $1 AND method = 'bank-transfer' AND status = 'reserved' AND release_failures = 0",
      [orderId],
    );
    return refused > 0;
  }
}

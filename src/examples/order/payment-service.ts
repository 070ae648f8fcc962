import { randomUUID } from "node:crypto";
import { RetryableError, TerminalError } from "../../errors.js";
import { applyOnce, simulateLatency, type CallOptions, type ParticipantDb, type ParticipantOptions } from "./participant-db.js";
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
      apply: () => {
        const existing = this.#db.prepare("SELECT 1 FROM demo_payments WHERE order_id = ?").get(request.orderId);
        if (existing !== undefined) throw new TerminalError(`order ${request.orderId} already holds a payment reservation`);
        const paymentId = `pay_${randomUUID()}`;
        this.#db
          .prepare(
            "INSERT INTO demo_payments (payment_id, order_id, customer_id, amount_cents, method, status, reserved_at_ms) VALUES (?, ?, ?, ?, ?, 'reserved', ?)",
          )
          .run(paymentId, request.orderId, request.customerId, request.amountCents, request.method, Date.now());
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
    if (this.#gatewayRefusesFirstRelease(orderId)) {
      throw new RetryableError(`payment gateway timed out releasing the payment for order ${orderId}; try again`);
    }
    return applyOnce(this.#db, {
      service: "payment",
      operation: "release",
      orderId,
      idempotencyKey: call.idempotencyKey,
      apply: () => {
        const changed = this.#db
          .prepare(
            "UPDATE demo_payments SET status = 'released', released_at_ms = ? WHERE order_id = ? AND status = 'reserved' AND (? IS NULL OR payment_id = ?)",
          )
          .run(Date.now(), orderId, paymentId, paymentId).changes;
        return { released: changed > 0 };
      },
    });
  }

  #gatewayRefusesFirstRelease(orderId: string): boolean {
    // Counted in its own committed transaction: the refusal must stay "already happened" after a crash.
    const refused = this.#db
      .prepare(
        "UPDATE demo_payments SET release_failures = release_failures + 1 WHERE order_id = ? AND method = 'bank-transfer' AND status = 'reserved' AND release_failures = 0",
      )
      .run(orderId).changes;
    return refused > 0;
  }
}

import { randomUUID } from "node:crypto";
import { TerminalError } from "../../errors.js";
import { applyOnce } from "./apply-once.js";
import { query, run } from "./participant-statements.js";
import { simulateLatency, type CallOptions, type ParticipantDb, type ParticipantOptions } from "./participant-db.js";

/** The output of ReserveInventory. */
export interface StockReservation {
  reservationId: string;
  sku: string;
  quantity: number;
}

/** The example warehouse: reserves stock it has on hand, refuses (for good) stock it has not. */
export class InventoryService {
  readonly #db: ParticipantDb;
  readonly #options: ParticipantOptions;

  constructor(db: ParticipantDb, options: ParticipantOptions = {}) {
    this.#db = db;
    this.#options = options;
  }

  /** Takes `quantity` of `sku` off the shelf for the order; TerminalError "inventory unavailable" when it cannot. */
  async reserve(orderId: string, sku: string, quantity: number, call: CallOptions): Promise<StockReservation> {
    this.#options.log?.(`[Inventory] reserving inventory for order ${orderId}`);
    await simulateLatency(this.#options.stepDelayMs ?? 0, call.signal);
    return applyOnce(this.#db, {
      service: "inventory",
      operation: "reserve",
      orderId,
      idempotencyKey: call.idempotencyKey,
      apply: function* () {
        // One statement that checks and takes: concurrent reservations of a SKU (other processes
        // included) queue on its row and each re-checks `available`, so none is lost or oversold.
        const taken = yield* run("UPDATE demo_stock SET available = available - $1 WHERE sku = $2 AND available >= $1", [quantity, sku]);
        if (taken === 0) throw new TerminalError("inventory unavailable");
        const reservationId = `stk_${randomUUID()}`;
        yield* run(
          "INSERT INTO demo_stock_reservations (reservation_id, order_id, sku, quantity, status, reserved_at_ms) VALUES ($1, $2, $3, $4, 'reserved', $5)",
          [reservationId, orderId, sku, quantity, Date.now()],
        );
        return { reservationId, sku, quantity };
      },
    });
  }

  /** Puts the order's reserved stock back on the shelf; a no-op when nothing is reserved. */
  async release(orderId: string, call: CallOptions): Promise<{ released: boolean }> {
    this.#options.log?.(`[Inventory] compensating inventory for order ${orderId}`);
    await simulateLatency(this.#options.stepDelayMs ?? 0, call.signal);
    return applyOnce(this.#db, {
      service: "inventory",
      operation: "release",
      orderId,
      idempotencyKey: call.idempotencyKey,
      apply: function* () {
        // Marks and reads in one statement, so the stock goes back at most once per reservation.
        const [row] = yield* query<{ sku: string; quantity: number }>(
          "UPDATE demo_stock_reservations SET status = 'released', released_at_ms = $2 WHERE order_id = $1 AND status = 'reserved' RETURNING sku, quantity",
          [orderId, Date.now()],
        );
        if (row === undefined) return { released: false };
        yield* run("UPDATE demo_stock SET available = available + $1 WHERE sku = $2", [row.quantity, row.sku]);
        return { released: true };
      },
    });
  }
}

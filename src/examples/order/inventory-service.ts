import { randomUUID } from "node:crypto";
import { TerminalError } from "../../errors.js";
import { applyOnce, simulateLatency, type CallOptions, type ParticipantDb, type ParticipantOptions } from "./participant-db.js";

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
      apply: () => {
        const taken = this.#db.prepare("UPDATE demo_stock SET available = available - ? WHERE sku = ? AND available >= ?").run(quantity, sku, quantity);
        if (taken.changes === 0) throw new TerminalError("inventory unavailable");
        const reservationId = `stk_${randomUUID()}`;
        this.#db
          .prepare(
            "INSERT INTO demo_stock_reservations (reservation_id, order_id, sku, quantity, status, reserved_at_ms) VALUES (?, ?, ?, ?, 'reserved', ?)",
          )
          .run(reservationId, orderId, sku, quantity, Date.now());
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
      apply: () => {
        const row = this.#db
          .prepare<[string], { sku: string; quantity: number }>("SELECT sku, quantity FROM demo_stock_reservations WHERE order_id = ? AND status = 'reserved'")
          .get(orderId);
        if (row === undefined) return { released: false };
        this.#db.prepare("UPDATE demo_stock_reservations SET status = 'released', released_at_ms = ? WHERE order_id = ?").run(Date.now(), orderId);
        this.#db.prepare("UPDATE demo_stock SET available = available + ? WHERE sku = ?").run(row.quantity, row.sku);
        return { released: true };
      },
    });
  }
}

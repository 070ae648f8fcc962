import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";

/** What the participants hold for one order, read from their own tables only. */
export interface LedgerEntry {
  orderId: string;
  payment: "none" | "reserved" | "released";
  stock: "none" | "reserved" | "released";
  shipment: "none" | "created" | "cancelled";
  /** Calls the participants answered from their idempotency records instead of applying again. */
  replays: number;
  /** Rows per table for this order; unique constraints keep each at most 1, and this shows it. */
  bookings: { payments: number; stock: number; shipments: number };
}

const TABLES = ["demo_idempotency", "demo_payments", "demo_stock_reservations", "demo_shipments"] as const;

// One row per order any participant has seen; MAX(status) is safe because each count is at most 1.
const LEDGER_SQL = `
WITH orders AS (
  SELECT order_id FROM demo_idempotency
  UNION SELECT order_id FROM demo_payments
  UNION SELECT order_id FROM demo_stock_reservations
  UNION SELECT order_id FROM demo_shipments
)
SELECT
  o.order_id AS orderId,
  (SELECT MAX(status) FROM demo_payments p WHERE p.order_id = o.order_id) AS payment,
  (SELECT COUNT(*) FROM demo_payments p WHERE p.order_id = o.order_id) AS payments,
  (SELECT MAX(status) FROM demo_stock_reservations s WHERE s.order_id = o.order_id) AS stock,
  (SELECT COUNT(*) FROM demo_stock_reservations s WHERE s.order_id = o.order_id) AS stockRows,
  (SELECT MAX(status) FROM demo_shipments h WHERE h.order_id = o.order_id) AS shipment,
  (SELECT COUNT(*) FROM demo_shipments h WHERE h.order_id = o.order_id) AS shipments,
  (SELECT COALESCE(SUM(replays), 0) FROM demo_idempotency i WHERE i.order_id = o.order_id) AS replays
FROM orders o
ORDER BY o.order_id
`;

interface LedgerRow {
  orderId: string;
  payment: LedgerEntry["payment"] | null;
  payments: number;
  stock: LedgerEntry["stock"] | null;
  stockRows: number;
  shipment: LedgerEntry["shipment"] | null;
  shipments: number;
  replays: number;
}

/**
 * Reads what the example participants booked, per order, sorted by order id. Opens the file
 * read-only and never creates it: a missing file, a file that is not SQLite, or one without
 * the demo's tables gives StoreUnavailableError.
 */
export function ledger(dbPath: string): LedgerEntry[] {
  if (!existsSync(dbPath)) throw new StoreUnavailableError(`no database at ${dbPath}`);
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const present = new Set(
      db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'demo_%'").pluck().all(),
    );
    const missing = TABLES.filter((table) => !present.has(table));
    if (missing.length > 0) throw new StoreUnavailableError(`${dbPath} holds no demo ledger (missing ${missing.join(", ")}); run \`sagaflow demo --db ${dbPath}\` first`);
    return db
      .prepare<[], LedgerRow>(LEDGER_SQL)
      .all()
      .map((row) => ({
        orderId: row.orderId,
        payment: row.payment ?? "none",
        stock: row.stock ?? "none",
        shipment: row.shipment ?? "none",
        replays: row.replays,
        bookings: { payments: row.payments, stock: row.stockRows, shipments: row.shipments },
      }));
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(`cannot read the demo ledger in ${dbPath}: ${reason}`, { cause: error });
  } finally {
    db?.close();
  }
}

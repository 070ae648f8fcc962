import { existsSync } from "node:fs";
import { StoreUnavailableError } from "../../errors.js";
import { openParticipantDb } from "./open-participant-db.js";
import type { ParticipantDb, ParticipantTarget } from "./participant-db.js";
import { LEDGER_TABLES } from "./participant-schema.js";

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

// One row per order any participant has seen; MAX(status) is safe because each count is at most 1.
// CAST: PostgreSQL's COUNT and SUM are BIGINT, which pg hands back as strings.
const LEDGER_SQL = `
WITH orders AS (
  SELECT order_id FROM demo_idempotency
  UNION SELECT order_id FROM demo_payments
  UNION SELECT order_id FROM demo_stock_reservations
  UNION SELECT order_id FROM demo_shipments
)
SELECT
  o.order_id AS order_id,
  (SELECT MAX(status) FROM demo_payments p WHERE p.order_id = o.order_id) AS payment,
  (SELECT CAST(COUNT(*) AS INTEGER) FROM demo_payments p WHERE p.order_id = o.order_id) AS payments,
  (SELECT MAX(status) FROM demo_stock_reservations s WHERE s.order_id = o.order_id) AS stock,
  (SELECT CAST(COUNT(*) AS INTEGER) FROM demo_stock_reservations s WHERE s.order_id = o.order_id) AS stock_rows,
  (SELECT MAX(status) FROM demo_shipments h WHERE h.order_id = o.order_id) AS shipment,
  (SELECT CAST(COUNT(*) AS INTEGER) FROM demo_shipments h WHERE h.order_id = o.order_id) AS shipments,
  (SELECT CAST(COALESCE(SUM(replays), 0) AS INTEGER) FROM demo_idempotency i WHERE i.order_id = o.order_id) AS replays
FROM orders o
`;

interface LedgerRow {
  order_id: string;
  payment: LedgerEntry["payment"] | null;
  payments: number;
  stock: LedgerEntry["stock"] | null;
  stock_rows: number;
  shipment: LedgerEntry["shipment"] | null;
  shipments: number;
  replays: number;
}

/**
 * Reads what the example participants booked, per order, sorted by order id. Never creates
 * anything: a SQLite file is opened read-only, and a file that is missing or not SQLite, or a
 * database without the demo's tables, gives StoreUnavailableError. A string is a SQLite path.
 */
export async function ledger(target: ParticipantTarget | string): Promise<LedgerEntry[]> {
  const resolved: ParticipantTarget = typeof target === "string" ? { kind: "sqlite", path: target } : target;
  const where = resolved.kind === "sqlite" ? resolved.path : `schema ${resolved.schema}`;
  if (resolved.kind === "sqlite" && !existsSync(resolved.path)) throw new StoreUnavailableError(`no database at ${resolved.path}`);
  let db: ParticipantDb | undefined;
  try {
    db = await openParticipantDb(resolved, { readOnly: true, poolSize: 1 });
    const missing: string[] = [];
    for (const table of LEDGER_TABLES) if (!(await db.tableExists(table))) missing.push(table);
    if (missing.length > 0) {
      throw new StoreUnavailableError(`${where} holds no demo ledger (missing ${missing.join(", ")}); run \`sagaflow demo\` on it first`);
    }
    const rows = await db.query<LedgerRow>(LEDGER_SQL);
    // Sorted here rather than in SQL: PostgreSQL orders text by its collation, SQLite by bytes.
    rows.sort((a, b) => (a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : 0));
    return rows.map((row) => ({
      orderId: row.order_id,
      payment: row.payment ?? "none",
      stock: row.stock ?? "none",
      shipment: row.shipment ?? "none",
      replays: row.replays,
      bookings: { payments: row.payments, stock: row.stock_rows, shipments: row.shipments },
    }));
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(`cannot read the demo ledger in ${where}: ${reason}`, { cause: error });
  } finally {
    await db?.close();
  }
}

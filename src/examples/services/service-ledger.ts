import { ledger, type LedgerEntry } from "../order/ledger.js";
import type { ParticipantDb } from "../order/participant-db.js";
import { ParticipantServiceName } from "./service-name.js";

/** What one service booked for one order. */
export interface ServiceLedgerEntry {
  orderId: string;
  /** payments: none | reserved | released; inventory: none | reserved | released; shipping: none | created | cancelled. */
  status: LedgerEntry["payment"] | LedgerEntry["shipment"];
  /** Rows this service holds for the order; its unique constraint keeps it at most 1. */
  bookings: number;
  /** Calls answered from the idempotency records instead of being applied again. */
  replays: number;
}

/** `GET /ledger`: the service's bookings per order, sorted by order id; the warehouse adds its stock. */
export interface ServiceLedger {
  service: ParticipantServiceName;
  orders: ServiceLedgerEntry[];
  /** Inventory only: units on hand per SKU. */
  stock?: Record<string, number>;
}

/**
 * Reads the service's ledger from its SQLite file through order/ledger.ts (its own read-only
 * connection) and keeps this service's columns; the warehouse's stock comes from `db`.
 */
export async function readServiceLedger(service: ParticipantServiceName, dbPath: string, db: ParticipantDb): Promise<ServiceLedger> {
  const entries = await ledger(dbPath);
  const orders = entries.map((entry) => projectEntry(service, entry));
  if (service !== ParticipantServiceName.Inventory) return { service, orders };
  const rows = await db.query<{ sku: string; available: number }>("SELECT sku, available FROM demo_stock ORDER BY sku");
  return { service, orders, stock: Object.fromEntries(rows.map((row) => [row.sku, row.available])) };
}

function projectEntry(service: ParticipantServiceName, entry: LedgerEntry): ServiceLedgerEntry {
  const { orderId, replays, bookings } = entry;
  switch (service) {
    case ParticipantServiceName.Payments:
      return { orderId, status: entry.payment, bookings: bookings.payments, replays };
    case ParticipantServiceName.Inventory:
      return { orderId, status: entry.stock, bookings: bookings.stock, replays };
    case ParticipantServiceName.Shipping:
      return { orderId, status: entry.shipment, bookings: bookings.shipments, replays };
  }
}

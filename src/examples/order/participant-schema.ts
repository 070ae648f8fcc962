// The participants' tables, in SQL both SQLite and PostgreSQL accept. They sit beside the
// orchestrator's tables (same file or schema) but are only ever touched through the
// participants' own connections: in a real deployment each would be a separate service with its
// own database. Times are epoch ms in BIGINT (a PostgreSQL INTEGER would overflow in 1970 + 24 days).

/** Creates whatever is missing; idempotent. Run as one multi-statement text, without parameters. */
export const CREATE_PARTICIPANT_TABLES = `
CREATE TABLE IF NOT EXISTS demo_idempotency (
  idempotency_key TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  operation TEXT NOT NULL,
  order_id TEXT NOT NULL,
  outcome_json TEXT NOT NULL,
  replays INTEGER NOT NULL DEFAULT 0,
  recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS demo_idempotency_order ON demo_idempotency (order_id);
CREATE TABLE IF NOT EXISTS demo_payments (
  payment_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  customer_id TEXT NOT NULL,
  amount_cents INTEGER NOT NULL,
  method TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('reserved', 'released')),
  release_failures INTEGER NOT NULL DEFAULT 0,
  reserved_at_ms BIGINT NOT NULL,
  released_at_ms BIGINT
);
CREATE TABLE IF NOT EXISTS demo_stock (
  sku TEXT PRIMARY KEY,
  available INTEGER NOT NULL CHECK (available >= 0)
);
CREATE TABLE IF NOT EXISTS demo_stock_reservations (
  reservation_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  sku TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('reserved', 'released')),
  reserved_at_ms BIGINT NOT NULL,
  released_at_ms BIGINT
);
CREATE TABLE IF NOT EXISTS demo_shipments (
  shipment_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  payment_id TEXT NOT NULL,
  stock_reservation_id TEXT NOT NULL,
  country TEXT NOT NULL,
  city TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('created', 'cancelled')),
  created_at_ms BIGINT NOT NULL,
  cancelled_at_ms BIGINT
);
`;

/** Puts a SKU on the shelf unless it is there already (a restart must not refill the stock). $1: sku, $2: units. */
export const SEED_STOCK = "INSERT INTO demo_stock (sku, available) VALUES ($1, $2) ON CONFLICT (sku) DO NOTHING";

/** The tables `ledger` reads; a database without them has never had the participants on it. */
export const LEDGER_TABLES = ["demo_idempotency", "demo_payments", "demo_stock_reservations", "demo_shipments"] as const;

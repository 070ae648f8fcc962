import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { TerminalError } from "../../errors.js";

/** A participant's own connection to its tables. */
export type ParticipantDb = Database.Database;

/** What every participant call receives from the saga step. */
export interface CallOptions {
  /** The step's `ctx.idempotencyKey`: a repeated call with it takes effect once. */
  idempotencyKey: string;
  signal?: AbortSignal;
}

/** Settings shared by the three example services. */
export interface ParticipantOptions {
  /** Simulated network latency per call, in ms. Default 0. */
  stepDelayMs?: number;
  /** Where the `[Payment] …` lines go; nothing is printed without it. */
  log?: (line: string) => void;
}

// The participants' tables live in the orchestrator's file but are never touched through its
// connection: in a real deployment each would be a separate service with its own database.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS demo_idempotency (
  idempotency_key TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  operation TEXT NOT NULL,
  order_id TEXT NOT NULL,
  outcome_json TEXT NOT NULL,
  replays INTEGER NOT NULL DEFAULT 0,
  recorded_at_ms INTEGER NOT NULL
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
  reserved_at_ms INTEGER NOT NULL,
  released_at_ms INTEGER
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
  reserved_at_ms INTEGER NOT NULL,
  released_at_ms INTEGER
);
CREATE TABLE IF NOT EXISTS demo_shipments (
  shipment_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  payment_id TEXT NOT NULL,
  stock_reservation_id TEXT NOT NULL,
  country TEXT NOT NULL,
  city TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('created', 'cancelled')),
  created_at_ms INTEGER NOT NULL,
  cancelled_at_ms INTEGER
);
`;

/** SKUs the warehouse carries and how many are on hand; a SKU at 0 (or unknown) cannot be reserved. */
export const INITIAL_STOCK: Readonly<Record<string, number>> = Object.freeze({
  "SKU-BOOK": 1_000_000,
  "SKU-MUG": 1_000_000,
  "SKU-LAMP": 1_000_000,
  "SKU-DISCONTINUED": 0,
});

/** Opens the participants' own connection (WAL, busy timeout) and creates their tables if missing. */
export function openParticipantDb(path: string): ParticipantDb {
  const db = new Database(path, { timeout: 5_000 });
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  const seed = db.prepare("INSERT OR IGNORE INTO demo_stock (sku, available) VALUES (?, ?)");
  db.transaction(() => {
    for (const [sku, available] of Object.entries(INITIAL_STOCK)) seed.run(sku, available);
  }).immediate();
  return db;
}

type Outcome = { ok: true; value: unknown } | { ok: false; message: string };

interface IdempotentCall<T> {
  service: string;
  operation: string;
  orderId: string;
  idempotencyKey: string;
  /** Applies the effect inside the transaction; a TerminalError is recorded and replayed as well. */
  apply: () => T;
}

/**
 * Applies an effect at most once per idempotency key: the effect and the record of its outcome
 * commit in one transaction, so a call repeated after a crash or timeout returns the recorded
 * outcome (and counts a replay) instead of applying again.
 */
export function applyOnce<T>(db: ParticipantDb, call: IdempotentCall<T>): T {
  const find = db.prepare<[string], { outcome_json: string }>("SELECT outcome_json FROM demo_idempotency WHERE idempotency_key = ?");
  const countReplay = db.prepare("UPDATE demo_idempotency SET replays = replays + 1 WHERE idempotency_key = ?");
  const record = db.prepare(
    "INSERT INTO demo_idempotency (idempotency_key, service, operation, order_id, outcome_json, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
  );
  // IMMEDIATE takes the write lock up front: two processes replaying the same key cannot both
  // read "not recorded" and both apply the effect.
  const outcome = db
    .transaction((): Outcome => {
      const found = find.get(call.idempotencyKey);
      if (found !== undefined) {
        countReplay.run(call.idempotencyKey);
        return JSON.parse(found.outcome_json) as Outcome;
      }
      let result: Outcome;
      try {
        result = { ok: true, value: call.apply() };
      } catch (error) {
        if (!(error instanceof TerminalError)) throw error;
        result = { ok: false, message: error.message };
      }
      record.run(call.idempotencyKey, call.service, call.operation, call.orderId, JSON.stringify(result), Date.now());
      return result;
    })
    .immediate();
  if (!outcome.ok) throw new TerminalError(outcome.message);
  return outcome.value as T;
}

/** Simulated latency that stops at once when the step's attempt is aborted. */
export async function simulateLatency(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  if (ms > 0) await sleep(ms, undefined, signal ? { signal } : {});
}

import { setTimeout as sleep } from "node:timers/promises";
import type { Effect } from "./participant-statements.js";

/**
 * Where the example participants keep their tables: a SQLite file, or a schema of a PostgreSQL
 * database (the orchestrator's schema, but always through the participants' own connections).
 */
export type ParticipantTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; connectionString: string; schema: string };

/**
 * A participant's own connection (SQLite) or pool (PostgreSQL). SQL is written once for both
 * dialects: `$1…$n` placeholders (SQLite reads `$1` as a named parameter, bound by position here),
 * `ON CONFLICT`, `RETURNING`, `CAST(… AS INTEGER)` for aggregates (PostgreSQL's COUNT and SUM are
 * BIGINT, which `pg` returns as strings), and snake_case column aliases (PostgreSQL folds unquoted ones).
 */
export interface ParticipantDb {
  /**
   * Runs the statements `work` yields (see participant-statements.ts) in one transaction;
   * commits when it returns, rolls back when it throws. SQLite takes the write lock up front
   * (BEGIN IMMEDIATE); PostgreSQL runs READ COMMITTED and locks rows as statements reach them.
   */
  transaction<T>(work: () => Effect<T>): Promise<T>;
  /** One statement on its own: the rows of a SELECT, or of a write with RETURNING. */
  query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** One write on its own, committed; returns how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Whether a table of the participants exists (in the target schema on PostgreSQL). */
  tableExists(name: string): Promise<boolean>;
  close(): Promise<void>;
}

/** How `openParticipantDb` opens a database. */
export interface OpenParticipantDbOptions {
  /** Only read what is there: never create a file, schema or table (SQLite opens read-only). Default false. */
  readOnly?: boolean;
  /** PostgreSQL only: connections in the pool. Default 4. */
  poolSize?: number;
}

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

/** SKUs the warehouse carries and how many are on hand; a SKU at 0 (or unknown) cannot be reserved. */
export const INITIAL_STOCK: Readonly<Record<string, number>> = Object.freeze({
  "SKU-BOOK": 1_000_000,
  "SKU-MUG": 1_000_000,
  "SKU-LAMP": 1_000_000,
  "SKU-DISCONTINUED": 0,
});

/** Simulated latency that stops at once when the step's attempt is aborted. */
export async function simulateLatency(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  if (ms > 0) await sleep(ms, undefined, signal ? { signal } : {});
}

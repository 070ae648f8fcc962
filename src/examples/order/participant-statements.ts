/**
 * A participant's transaction is written as a generator of SQL statements instead of an async
 * function. The database drives it: PostgreSQL awaits each statement; SQLite runs them all in one
 * synchronous stretch from BEGIN to COMMIT. That matters for SQLite: the orchestrator's store has
 * its own connection in the same process, and its writes wait for the lock *synchronously* (busy
 * timeout). If a participant held the write lock across an `await`, such a write could start in
 * between, block the event loop, and keep the participant from ever reaching its COMMIT.
 *
 * @example
 * function* take(sku: string): Effect<boolean> {
 *   const changed = yield* run("UPDATE demo_stock SET available = available - 1 WHERE sku = $1 AND available > 0", [sku]);
 *   return changed > 0;
 * }
 */

/** One SQL statement with `$1…$n` parameters: `query` returns rows, `run` the number of rows changed. */
export interface Statement {
  kind: "query" | "run";
  sql: string;
  params: readonly unknown[];
}

/** A transaction's work: yields statements, receives their results, returns `T` (or throws to roll back). */
export type Effect<T> = Generator<Statement, T, unknown>;

/** The rows of a SELECT, or of a write with RETURNING; use as `const rows = yield* query<Row>(sql, params)`. */
export function* query<Row>(sql: string, params: readonly unknown[] = []): Effect<Row[]> {
  return (yield { kind: "query", sql, params }) as Row[];
}

/** Runs a write; `const changed = yield* run(sql, params)` is the number of rows it changed. */
export function* run(sql: string, params: readonly unknown[] = []): Effect<number> {
  return (yield { kind: "run", sql, params }) as number;
}

/** Drives `effect` with a synchronous executor; a failed statement is thrown into the effect. */
export function driveSync<T>(effect: Effect<T>, execute: (statement: Statement) => unknown): T {
  let step = effect.next();
  while (step.done !== true) {
    let result: unknown;
    try {
      result = execute(step.value);
    } catch (error) {
      step = effect.throw(error);
      continue;
    }
    step = effect.next(result);
  }
  return step.value;
}

/** Drives `effect` with an asynchronous executor; a failed statement is thrown into the effect. */
export async function drive<T>(effect: Effect<T>, execute: (statement: Statement) => Promise<unknown>): Promise<T> {
  let step = effect.next();
  while (step.done !== true) {
    let result: unknown;
    try {
      result = await execute(step.value);
    } catch (error) {
      step = effect.throw(error);
      continue;
    }
    step = effect.next(result);
  }
  return step.value;
}

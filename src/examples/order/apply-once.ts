import { TerminalError } from "../../errors.js";
import type { ParticipantDb } from "./participant-db.js";
import { query, run, type Effect } from "./participant-statements.js";

type Outcome = { ok: true; value: unknown } | { ok: false; message: string };

/** One participant call to make idempotent. */
export interface IdempotentCall<T> {
  service: string;
  operation: string;
  orderId: string;
  idempotencyKey: string;
  /**
   * The effect's statements, run inside the transaction. A TerminalError is recorded and replayed
   * as well; it must be thrown before anything is changed (the rest of the transaction commits).
   */
  apply: () => Effect<T>;
}

// Claims the key. ON CONFLICT DO NOTHING waits for a concurrent transaction holding the same key:
// if that one commits, no row comes back (replay); if it rolls back, this insert goes through.
// The outcome is a placeholder until the effect is applied, in this same transaction, so no one
// ever sees it. $1 key, $2 service, $3 operation, $4 order id, $5 now (ms).
const CLAIM_KEY = `INSERT INTO demo_idempotency (idempotency_key, service, operation, order_id, outcome_json, recorded_at_ms)
VALUES ($1, $2, $3, $4, 'null', $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`;
// Stores the outcome of the call that claimed the key. $1 key, $2 outcome JSON.
const RECORD_OUTCOME = "UPDATE demo_idempotency SET outcome_json = $2 WHERE idempotency_key = $1";
// Reads the recorded outcome of a repeated call and counts the replay; on PostgreSQL the UPDATE
// reads the latest committed row even inside a transaction that started before it. $1 key.
const REPLAY = "UPDATE demo_idempotency SET replays = replays + 1 WHERE idempotency_key = $1 RETURNING outcome_json";

/**
 * Applies an effect at most once per idempotency key: the key, the effect and the outcome commit
 * in one transaction, so a call repeated after a crash or timeout — or arriving at the same time
 * from another process — returns the recorded outcome (and counts a replay) instead of applying again.
 */
export async function applyOnce<T>(db: ParticipantDb, call: IdempotentCall<T>): Promise<T> {
  const outcome = await db.transaction(() => claimApplyRecord(call));
  if (!outcome.ok) throw new TerminalError(outcome.message);
  return outcome.value as T;
}

function* claimApplyRecord<T>(call: IdempotentCall<T>): Effect<Outcome> {
  const claimed = yield* query(CLAIM_KEY, [call.idempotencyKey, call.service, call.operation, call.orderId, Date.now()]);
  if (claimed.length === 0) {
    const [recorded] = yield* query<{ outcome_json: string }>(REPLAY, [call.idempotencyKey]);
    if (recorded === undefined) throw new Error(`idempotency record ${call.idempotencyKey} vanished while being replayed`);
    return JSON.parse(recorded.outcome_json) as Outcome;
  }
  let result: Outcome;
  try {
    result = { ok: true, value: yield* call.apply() };
  } catch (error) {
    if (!(error instanceof TerminalError)) throw error;
    result = { ok: false, message: error.message };
  }
  yield* run(RECORD_OUTCOME, [call.idempotencyKey, JSON.stringify(result)]);
  return result;
}

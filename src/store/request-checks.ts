import { isSagaStatus, SAGA_STATUSES, type SagaStatus } from "../domain/status.js";
import { InvalidArgumentError } from "../errors.js";
import { decodeListCursor, type ListPosition } from "./list-cursor.js";
import { MAX_ACTIVITY_BUCKETS, type ActivityBucket, type ActivityQuery, type ClaimRequest, type ListQuery } from "./saga-store.js";

/** Largest page `listInstances` returns. */
export const MAX_LIST_LIMIT = 1000;

/** A `ListQuery` whose arguments were checked, with its cursor decoded. */
export interface CheckedListQuery {
  /** Null when every status is wanted (the filter was absent or empty). */
  statuses: readonly SagaStatus[] | null;
  definitionName: string | null;
  createdFromMs: number | null;
  createdToMs: number | null;
  limit: number;
  after: ListPosition | null;
}

/** Checks a list query the same way for every adapter; throws `InvalidArgumentError` naming the field. */
export function checkListQuery(query: ListQuery): CheckedListQuery {
  const { limit } = query;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidArgumentError("limit", `must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`);
  }
  for (const status of query.statuses ?? []) {
    if (!isSagaStatus(status)) {
      throw new InvalidArgumentError("statuses", `must contain only ${SAGA_STATUSES.join(", ")}, got ${JSON.stringify(status)}`);
    }
  }
  checkOptionalTime("createdFromMs", query.createdFromMs);
  checkOptionalTime("createdToMs", query.createdToMs);
  return {
    statuses: query.statuses !== undefined && query.statuses.length > 0 ? [...query.statuses] : null,
    definitionName: query.definitionName ?? null,
    createdFromMs: query.createdFromMs ?? null,
    createdToMs: query.createdToMs ?? null,
    limit,
    after: query.cursor === undefined ? null : decodeListCursor(query.cursor),
  };
}

/** The buckets an `activity` query asks for, checked; the stores fill them from their counts. */
export function checkActivityQuery(query: ActivityQuery): { buckets: ActivityBucket[]; index: (atMs: number) => number } {
  const { fromMs, toMs, bucketMs } = query;
  if (!Number.isSafeInteger(fromMs)) throw new InvalidArgumentError("fromMs", `must be integer epoch milliseconds, got ${String(fromMs)}`);
  if (!Number.isSafeInteger(toMs) || toMs <= fromMs) throw new InvalidArgumentError("toMs", `must be integer epoch milliseconds after fromMs (${fromMs}), got ${String(toMs)}`);
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 1000) throw new InvalidArgumentError("bucketMs", `must be an integer of at least 1000 milliseconds, got ${String(bucketMs)}`);
  const count = Math.ceil((toMs - fromMs) / bucketMs);
  if (count > MAX_ACTIVITY_BUCKETS) {
    throw new InvalidArgumentError("bucketMs", `makes ${count} buckets of the range; at most ${MAX_ACTIVITY_BUCKETS} are allowed: use larger buckets or a shorter range`);
  }
  const buckets = Array.from({ length: count }, (_, i): ActivityBucket => ({ startMs: fromMs + i * bucketMs, started: 0, completed: 0, compensated: 0, failed: 0 }));
  return { buckets, index: (atMs) => Math.floor((atMs - fromMs) / bucketMs) };
}

/** Adds the rows of an activity query (bucket index, kind, count) to the checked buckets. */
export function fillActivity(buckets: ActivityBucket[], rows: Iterable<{ bucket: number; kind: string; count: number }>): ActivityBucket[] {
  for (const { bucket, kind, count } of rows) {
    const target = buckets[bucket];
    if (target === undefined) continue;
    if (kind === "started" || kind === "completed" || kind === "compensated" || kind === "failed") target[kind] += Number(count);
  }
  return buckets;
}

/**
 * Checks a claim request. `limit` 0 is allowed (a worker with no free slot) and claims nothing;
 * a negative limit is refused because SQLite reads `LIMIT -1` as "no limit".
 */
export function checkClaimRequest(request: ClaimRequest): void {
  if (!Number.isInteger(request.limit) || request.limit < 0) {
    throw new InvalidArgumentError("limit", `must be an integer ≥ 0, got ${String(request.limit)}`);
  }
  if (!Number.isFinite(request.leaseMs) || request.leaseMs <= 0) {
    throw new InvalidArgumentError("leaseMs", `must be a positive number of milliseconds, got ${String(request.leaseMs)}`);
  }
  if (!Number.isFinite(request.nowMs)) {
    throw new InvalidArgumentError("nowMs", `must be epoch milliseconds, got ${String(request.nowMs)}`);
  }
}

/**
 * A commit that claims to have applied inbox messages the instance never received, or fewer
 * than a previous commit already applied, is a bug in the caller, not a lost race: it is
 * refused loudly rather than reported as `fenced` or `inbox_changed`.
 */
export function checkCommitInboxSeq(sagaId: string, inboxSeq: number, delivered: number, applied: number): void {
  if (!Number.isInteger(inboxSeq) || inboxSeq > delivered || inboxSeq < applied) {
    throw new InvalidArgumentError(
      "inboxSeq",
      `of the commit for saga ${sagaId} must be between ${applied} (already applied) and ${delivered} (last delivered), got ${String(inboxSeq)}`,
    );
  }
}

/** The commit's state must be the state of the instance it names. */
export function checkCommitStateId(sagaId: string, stateId: string): void {
  if (sagaId !== stateId) {
    throw new InvalidArgumentError("state.id", `must equal the commit's sagaId ${JSON.stringify(sagaId)}, got ${JSON.stringify(stateId)}`);
  }
}

function checkOptionalTime(field: string, value: number | undefined): void {
  if (value !== undefined && !Number.isFinite(value)) {
    throw new InvalidArgumentError(field, `must be epoch milliseconds, got ${String(value)}`);
  }
}

/** Every status with a count of zero, so `countByStatus` always names all of them. */
export function zeroCounts(): Record<SagaStatus, number> {
  const counts = {} as Record<SagaStatus, number>;
  for (const status of SAGA_STATUSES) counts[status] = 0;
  return counts;
}

import { isTerminal } from "../../domain/status.js";
import { InvalidArgumentError } from "../../errors.js";
import type { CreateInstanceRequest, CreateOutcome } from "../saga-store.js";
import { historyToJson } from "../history-json.js";
import { stateToJson } from "../state-json.js";
import { toInstanceRecord, type InstanceRow } from "../stored-rows.js";
import type { Query } from "./connection.js";
import { CREATE_COLUMNS, type PostgresQueries } from "./queries.js";
import type { TextBlob } from "./text-blob.js";

/**
 * The outcome of each create of one `writeBatch` statement (see `createColumns`), given the ids
 * it inserted. Only if some were not inserted: one read of their keys tells "key taken"
 * (`created: false` with that instance) from "id taken" (that create alone fails).
 */
export async function createOutcomes(
  query: Query,
  q: PostgresQueries,
  run: readonly CreateInstanceRequest[],
  insertedIds: ReadonlySet<string>,
): Promise<CreateOutcome[]> {
  const refusedKeys = run.flatMap((request) =>
    insertedIds.has(request.state.id) || request.state.idempotencyKey === null ? [] : [request.state.idempotencyKey],
  );
  // The key's instance committed before this insert gave up (or was written earlier in this transaction), so this read sees it.
  const byKey = new Map<string, InstanceRow>();
  if (refusedKeys.length > 0) {
    for (const row of await query<InstanceRow & { idempotency_key: string }>(q.selectInstancesByKeys, [refusedKeys])) {
      byKey.set(row.idempotency_key, row);
    }
  }
  return run.map((request) => outcomeOf(request, insertedIds, byKey));
}

function outcomeOf(request: CreateInstanceRequest, insertedIds: ReadonlySet<string>, byKey: ReadonlyMap<string, InstanceRow>): CreateOutcome {
  const { state, lease } = request;
  if (insertedIds.has(state.id)) {
    return {
      ok: true,
      result: {
        created: true,
        record: {
          // The caller's object: callers never mutate a state they wrote (see the contract).
          state,
          epoch: lease === undefined ? 0 : 1,
          leaseOwner: lease?.owner ?? null,
          leaseExpiresAtMs: lease?.expiresAtMs ?? null,
          inboxSeq: 0,
          inboxAppliedSeq: 0,
        },
      },
    };
  }
  const existing = state.idempotencyKey === null ? undefined : byKey.get(state.idempotencyKey);
  if (existing !== undefined) return { ok: true, result: { created: false, record: toInstanceRecord(existing) } };
  return {
    ok: false,
    error: new InvalidArgumentError("state.id", `${JSON.stringify(state.id)} already names another instance; ids must be unique`),
  };
}

/** Splits the batch where an id or a key repeats, so each statement names every id and key once. */
export function runsOfDistinctCreates(creates: readonly CreateInstanceRequest[]): CreateInstanceRequest[][] {
  const runs: CreateInstanceRequest[][] = [];
  let current: CreateInstanceRequest[] = [];
  let seen = new Set<string>();
  for (const request of creates) {
    const { id, idempotencyKey } = request.state;
    const names = idempotencyKey === null ? [`i:${id}`] : [`i:${id}`, `k:${idempotencyKey}`];
    if (names.some((name) => seen.has(name))) {
      runs.push(current);
      current = [];
      seen = new Set();
    }
    current.push(request);
    for (const name of names) seen.add(name);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/** The new-instance arrays of `writeBatch` (`CREATE_COLUMNS` of them), with their JSON texts added to `blob`. */
export function createColumns(run: readonly CreateInstanceRequest[], blob: TextBlob): unknown[][] {
  const columns: unknown[][] = Array.from({ length: CREATE_COLUMNS }, () => []);
  for (const { state, lease, history } of run) {
    const terminal = isTerminal(state.status);
    const stateText = blob.add(stateToJson(state));
    const historyText = blob.add(historyToJson(history));
    const row = [
      state.id,
      state.definitionName,
      state.definitionVersion,
      state.status,
      state.idempotencyKey,
      blob.offsets[stateText],
      blob.lengths[stateText],
      terminal ? null : state.wakeAtMs,
      lease?.owner ?? null,
      lease?.expiresAtMs ?? null,
      lease === undefined ? 0 : 1,
      history.length,
      state.createdAtMs,
      state.updatedAtMs,
      terminal ? (state.endedAtMs ?? state.updatedAtMs) : null,
      blob.offsets[historyText],
      blob.lengths[historyText],
    ];
    row.forEach((value, index) => columns[index]?.push(value));
  }
  return columns;
}

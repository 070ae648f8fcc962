import { isTerminal } from "../../domain/status.js";
import { rejectedWriteEntry } from "../rejected-write.js";
import { checkCommitInboxSeq } from "../request-checks.js";
import type { CommitOutcome, InboxMessage, TransitionCommit } from "../saga-store.js";
import { historyToJson } from "../history-json.js";
import { stateToJson } from "../state-json.js";
import { toInboxMessage, type InboxRow } from "../stored-rows.js";
import type { Query } from "./connection.js";
import { COMMIT_COLUMNS, type PostgresQueries } from "./queries.js";
import type { TextBlob } from "./text-blob.js";

/** Fencing and inbox columns of an instance whose commit was not written. */
interface GuardRow {
  id: string;
  epoch: number;
  lease_owner: string | null;
  lease_expires_at_ms: number | null;
  inbox_seq: number;
  inbox_applied_seq: number;
}

/** An inbox row of `selectInboxRanges`. */
export interface RangedInboxRow extends InboxRow {
  saga_id: string;
}

/**
 * The outcome of each transition of one `writeBatch` statement (see `commitColumns`), given the
 * ids it wrote. Only if some item was refused: one read tells `fenced` from `inbox_changed`, one
 * write records the fenced ones' late attempts in their histories, and one read fetches the
 * messages the others missed. Throws `InvalidArgumentError` for a caller's bug, which the
 * statement found too and so wrote nothing.
 */
export async function commitOutcomes(
  query: Query,
  q: PostgresQueries,
  run: readonly TransitionCommit[],
  writtenIds: ReadonlySet<string>,
): Promise<CommitOutcome[]> {
  const refused = run.filter((commit) => !writtenIds.has(commit.sagaId));
  const refusals = refused.length === 0 ? new Map<string, CommitOutcome>() : await explainRefusals(query, q, refused);
  return run.map((commit) => refusals.get(commit.sagaId) ?? { ok: true });
}

/**
 * Splits the batch where an instance repeats, so each run names every instance once (one UPDATE
 * cannot apply two changes to one row) and later runs see the earlier ones' writes, as a
 * one-by-one commit would. Batches from the runtime hold one transition per instance: one run.
 */
export function runsOfDistinctInstances(commits: readonly TransitionCommit[]): TransitionCommit[][] {
  const runs: TransitionCommit[][] = [];
  let current: TransitionCommit[] = [];
  let ids = new Set<string>();
  for (const commit of commits) {
    if (ids.has(commit.sagaId)) {
      runs.push(current);
      current = [];
      ids = new Set();
    }
    current.push(commit);
    ids.add(commit.sagaId);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/** The transition arrays of `writeBatch` (`COMMIT_COLUMNS` of them), with their JSON texts added to `blob`. */
export function commitColumns(run: readonly TransitionCommit[], blob: TextBlob): unknown[][] {
  const columns: unknown[][] = Array.from({ length: COMMIT_COLUMNS }, () => []);
  for (const commit of run) {
    const { state } = commit;
    const terminal = isTerminal(state.status);
    const stateText = blob.add(stateToJson(state));
    const historyText = blob.add(historyToJson(commit.history));
    const row = [
      commit.sagaId,
      commit.epoch,
      commit.workerId,
      commit.nowMs,
      commit.inboxSeq,
      blob.offsets[stateText],
      blob.lengths[stateText],
      state.status,
      terminal ? null : state.wakeAtMs,
      state.updatedAtMs,
      terminal ? (state.endedAtMs ?? commit.nowMs) : null,
      commit.lease === "release" ? null : commit.lease.expiresAtMs,
      commit.history.length,
      blob.offsets[historyText],
      blob.lengths[historyText],
    ];
    row.forEach((value, index) => columns[index]?.push(value));
  }
  return columns;
}

/**
 * Why each refused item was refused, checked in the same order as the other adapters: fencing
 * first, then the caller's inbox claim (a bug throws), then missed messages. Read after the
 * statement, which may have committed already: what changed since can only make an item more
 * refused (epochs and inbox numbers only grow, and only this worker, the lease holder, deletes
 * messages from the inbox or extends its lease), and an item that now passes every check is
 * reported `fenced` (see below), which is always safe.
 */
async function explainRefusals(query: Query, q: PostgresQueries, refused: readonly TransitionCommit[]): Promise<Map<string, CommitOutcome>> {
  const guards = new Map(
    (await query<GuardRow>(q.selectCommitGuards, [refused.map((c) => c.sagaId)])).map((row) => [row.id, row] as const),
  );
  const outcomes = new Map<string, CommitOutcome>();
  const missed: { commit: TransitionCommit; upTo: number }[] = [];
  const late: { commit: TransitionCommit; currentEpoch: number }[] = [];
  for (const commit of refused) {
    const guard = guards.get(commit.sagaId);
    if (
      guard === undefined ||
      guard.epoch !== commit.epoch ||
      guard.lease_owner !== commit.workerId ||
      guard.lease_expires_at_ms === null ||
      guard.lease_expires_at_ms < commit.nowMs
    ) {
      outcomes.set(commit.sagaId, { ok: false, reason: "fenced" });
      if (guard !== undefined) late.push({ commit, currentEpoch: guard.epoch });
      continue;
    }
    checkCommitInboxSeq(commit.sagaId, commit.inboxSeq, guard.inbox_seq, guard.inbox_applied_seq);
    if (guard.inbox_seq > commit.inboxSeq) {
      missed.push({ commit, upTo: guard.inbox_seq });
    } else {
      // Passes every check now, so a lease renewal committed after the write's snapshot, when the
      // lease had expired as of the item's `now`. Refusing is what the write saw, and safe: the
      // worker stops writing for this saga, and the lease runs out for the next claim.
      outcomes.set(commit.sagaId, { ok: false, reason: "fenced" });
      late.push({ commit, currentEpoch: guard.epoch });
    }
  }
  if (late.length > 0) {
    const entries = late.map(({ commit, currentEpoch }) => rejectedWriteEntry(commit, currentEpoch));
    await query(q.appendRejectedWrites, [
      late.map(({ commit }) => commit.sagaId),
      late.map(({ commit }) => commit.workerId),
      late.map(({ commit }) => commit.epoch),
      entries.map((entry) => entry.atMs),
      entries.map((entry) => JSON.stringify([entry])),
    ]);
  }
  if (missed.length > 0) {
    const rows = await query<RangedInboxRow>(q.selectInboxRanges, [
      missed.map((m) => m.commit.sagaId),
      missed.map((m) => m.commit.inboxSeq),
      missed.map((m) => m.upTo),
    ]);
    const inboxes = groupInbox(rows);
    for (const { commit } of missed) outcomes.set(commit.sagaId, { ok: false, reason: "inbox_changed", inbox: inboxes.get(commit.sagaId) ?? [] });
  }
  return outcomes;
}

/** Inbox rows of several instances, grouped per instance in seq order. */
export function groupInbox(rows: readonly RangedInboxRow[]): Map<string, InboxMessage[]> {
  const grouped = new Map<string, InboxMessage[]>();
  for (const row of rows) {
    const messages = grouped.get(row.saga_id) ?? [];
    messages.push(toInboxMessage(row.saga_id, row));
    grouped.set(row.saga_id, messages);
  }
  return grouped;
}

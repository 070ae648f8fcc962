import type { CreateInstanceRequest, TransitionCommit, WriteBatch, WriteBatchResult } from "../saga-store.js";
import { arrayLiteral } from "./array-literal.js";
import { commitColumns, commitOutcomes, runsOfDistinctInstances } from "./commit-batch.js";
import type { Query } from "./connection.js";
import { createColumns, createOutcomes, runsOfDistinctCreates } from "./create-batch.js";
import type { PostgresQueries } from "./queries.js";
import { TextBlob } from "./text-blob.js";

/**
 * Whether the whole batch fits one `writeBatch` statement, which then needs no transaction: its
 * creates name every id and key once, its commits every instance once, and no commit names an
 * instance the batch creates (a statement does not see its own inserts). Group commits from the
 * runtime always fit: a saga's first transition is submitted only after its create committed.
 */
export function fitsOneStatement(batch: WriteBatch): boolean {
  if (runsOfDistinctCreates(batch.creates).length > 1 || runsOfDistinctInstances(batch.commits).length > 1) return false;
  if (batch.creates.length === 0 || batch.commits.length === 0) return true;
  const created = new Set(batch.creates.map((request) => request.state.id));
  return !batch.commits.some((commit) => created.has(commit.sagaId));
}

/**
 * Writes a batch with as few `writeBatch` statements as it allows: one when it fits (`oneStatement`,
 * from `fitsOneStatement`, which the caller needs anyway to know whether to open a transaction),
 * else one per run of creates and then one per run of commits, each seeing the writes of those
 * before it, as writing one by one would. Several statements must run in one transaction, which
 * the caller opens. Outcomes are in the batch's order; throws `InvalidArgumentError` for a
 * caller's bug in a commit, with nothing of that statement written.
 */
export async function writeBatchStatements(
  query: Query,
  q: PostgresQueries,
  channel: string,
  batch: WriteBatch,
  oneStatement: boolean,
): Promise<WriteBatchResult> {
  if (oneStatement) {
    const { created, written } = await writeStatement(query, q, channel, batch.creates, batch.commits);
    // Commits first: a caller's bug among them throws before anything else is read or written.
    const commits = batch.commits.length === 0 ? [] : await commitOutcomes(query, q, batch.commits, written);
    const creates = batch.creates.length === 0 ? [] : await createOutcomes(query, q, batch.creates, created);
    return { creates, commits };
  }
  const result: WriteBatchResult = { creates: [], commits: [] };
  for (const run of runsOfDistinctCreates(batch.creates)) {
    const { created } = await writeStatement(query, q, channel, run, []);
    result.creates.push(...(await createOutcomes(query, q, run, created)));
  }
  for (const run of runsOfDistinctInstances(batch.commits)) {
    const { written } = await writeStatement(query, q, channel, [], run);
    result.commits.push(...(await commitOutcomes(query, q, run, written)));
  }
  return result;
}

async function writeStatement(
  query: Query,
  q: PostgresQueries,
  channel: string,
  creates: readonly CreateInstanceRequest[],
  commits: readonly TransitionCommit[],
): Promise<{ created: Set<string>; written: Set<string> }> {
  const blob = new TextBlob();
  const columns = [...(creates.length > 0 ? createColumns(creates, blob) : []), ...(commits.length > 0 ? commitColumns(commits, blob) : [])];
  const single = creates.length <= 1 && commits.length <= 1;
  const sql = q.writeBatch({ creates: creates.length > 0, commits: commits.length > 0, single });
  // A single-item shape takes each column's one value rather than the array.
  const values = single ? columns.map((column) => column[0]) : columns.map(arrayLiteral);
  const rows = await query<{ id: string; created: boolean }>(sql, [blob.toBuffer(), channel, ...values]);
  const created = new Set<string>();
  const written = new Set<string>();
  for (const row of rows) (row.created ? created : written).add(row.id);
  return { created, written };
}

/**
 * Checks shared by the fleet and connection-loss tests: what "consistent" means for the demo's
 * participants, and what the history must show about who ran what.
 */
import type { HistoryEntry } from "../../src/domain/history.js";
import { withClient, type TestSchema } from "./postgres.js";

/** One order as `sagaflow demo ledger --json` prints it. */
export interface LedgerEntry {
  orderId: string;
  payment: "none" | "reserved" | "released";
  stock: "none" | "reserved" | "released";
  shipment: "none" | "created" | "cancelled";
  replays: number;
}

/** Polls `condition` every 100 ms; throws naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function countTerminal(schema: TestSchema): Promise<number> {
  return withClient(schema.url, async (client) => {
    const result = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema.schema}".saga_instances WHERE status IN ('completed', 'compensated', 'failed')`,
    );
    return Number(result.rows[0]?.n ?? 0);
  });
}

/**
 * Every order fully booked with its saga completed, or fully released with its saga compensated.
 * Returns one line per inconsistency (empty when all is well).
 */
export function checkLedgerAgainstStatuses(ledger: readonly LedgerEntry[], statusByOrder: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const entry of ledger) {
    const status = statusByOrder.get(entry.orderId);
    const booked = entry.payment === "reserved" && entry.stock === "reserved" && entry.shipment === "created";
    const released = entry.payment !== "reserved" && entry.stock !== "reserved" && entry.shipment !== "created";
    if (status === "completed" && !booked) problems.push(`${entry.orderId}: completed but ${JSON.stringify(entry)}`);
    else if (status === "compensated" && !released) problems.push(`${entry.orderId}: compensated but ${JSON.stringify(entry)}`);
    else if (status !== "completed" && status !== "compensated") problems.push(`${entry.orderId}: saga is ${String(status)}`);
  }
  return problems;
}

/** One history entry as the fleet checks read it: one per entry of each `saga_history` row. */
interface EventRow {
  saga_id: string;
  seq: number;
  worker_id: string | null;
  epoch: string | null;
  entry_json: string;
}

export interface FleetHistory {
  /** Attempts of one step phase recorded by different workers whose [start, end] intervals overlap. */
  overlaps: string[];
  /** Sagas whose accepted history entries go back to an older epoch (a fenced write got through). */
  epochRegressions: string[];
  rejectedWritesBy: Map<string, number>;
  inDoubt: number;
  sagasRunByMoreThanOneWorker: number;
  workers: string[];
}

/** Reads every saga's history from the schema and checks the fleet's invariants on it. */
export async function checkFleetHistory(schema: TestSchema): Promise<FleetHistory> {
  const rows = await withClient(schema.url, async (client) =>
    (
      await client.query<EventRow>(
        `SELECT h.saga_id, h.seq + e.ordinal - 1 AS seq, h.worker_id, h.epoch, e.entry::text AS entry_json
         FROM "${schema.schema}".saga_history h, json_array_elements(h.entries_json::json) WITH ORDINALITY AS e(entry, ordinal)
         ORDER BY h.saga_id, seq`,
      )
    ).rows,
  );
  const bySaga = new Map<string, EventRow[]>();
  for (const row of rows) {
    const list = bySaga.get(row.saga_id) ?? [];
    list.push(row);
    bySaga.set(row.saga_id, list);
  }
  const result: FleetHistory = { overlaps: [], epochRegressions: [], rejectedWritesBy: new Map(), inDoubt: 0, sagasRunByMoreThanOneWorker: 0, workers: [] };
  const allWorkers = new Set<string>();
  for (const [sagaId, events] of bySaga) {
    let lastEpoch = 0;
    const runners = new Set<string>();
    // (step, phase, attempt) → the interval its recording worker ran it in.
    const started = new Map<string, { worker: string; epoch: number; at: number }>();
    const intervals: Array<{ key: string; worker: string; from: number; to: number }> = [];
    for (const row of events) {
      const entry = JSON.parse(row.entry_json) as HistoryEntry;
      const epoch = row.epoch === null ? null : Number(row.epoch);
      if (row.worker_id !== null) allWorkers.add(row.worker_id);
      if (entry.type === "write_rejected") {
        if (row.worker_id !== null) result.rejectedWritesBy.set(row.worker_id, (result.rejectedWritesBy.get(row.worker_id) ?? 0) + 1);
        continue;
      }
      if (epoch !== null) {
        if (epoch < lastEpoch) result.epochRegressions.push(`${sagaId} seq ${row.seq}: epoch ${epoch} after ${lastEpoch}`);
        lastEpoch = Math.max(lastEpoch, epoch);
      }
      if (row.worker_id !== null) runners.add(row.worker_id);
      if (entry.type === "attempt_in_doubt") result.inDoubt++;
      if (entry.type === "attempt_started" && row.worker_id !== null && epoch !== null) {
        started.set(`${entry.step}/${entry.phase}/${entry.attempt}`, { worker: row.worker_id, epoch, at: entry.atMs });
      }
      if ((entry.type === "attempt_succeeded" || entry.type === "attempt_failed") && row.worker_id !== null) {
        const key = `${entry.step}/${entry.phase}/${entry.attempt}`;
        const start = started.get(key);
        if (start !== undefined && start.worker === row.worker_id && start.epoch === epoch) {
          intervals.push({ key: `${entry.step}/${entry.phase}`, worker: row.worker_id, from: start.at, to: entry.atMs });
        }
      }
    }
    if (runners.size > 1) result.sagasRunByMoreThanOneWorker++;
    for (const a of intervals) {
      for (const b of intervals) {
        if (a === b || a.key !== b.key || a.worker === b.worker) continue;
        if (a.from < b.to && b.from < a.to) result.overlaps.push(`${sagaId} ${a.key}: ${a.worker} [${a.from},${a.to}] and ${b.worker} [${b.from},${b.to}]`);
      }
    }
  }
  result.workers = [...allWorkers];
  return result;
}

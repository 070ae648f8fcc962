// How the SQLite and PostgreSQL stores keep the entries one write appends to a saga's history: a
// JSON array, with one thing left out. A phase that fails for good records its last attempt's
// failure and then its giving up, both with the same error (the same object, as `decide` records
// them, one after the other in one write); the giving up is stored with `"errorAsBefore": true`
// instead of a second copy, and reading puts the error back. Everything else is `JSON.stringify`.
import type { HistoryEntry } from "../domain/history.js";
import { StoreUnavailableError } from "../errors.js";

/** An entry as stored: a `phase_gave_up` may hold `errorAsBefore` in place of its error. */
type StoredEntry = HistoryEntry & { errorAsBefore?: true };

/** The JSON text a store keeps for the entries one write appended. */
export function historyToJson(entries: readonly HistoryEntry[]): string {
  // Most writes give nothing up: one scan, then the plain text.
  let first = 1;
  while (first < entries.length && !givesUpWithErrorBefore(entries, first)) first++;
  if (first >= entries.length) return JSON.stringify(entries);
  const stored: unknown[] = entries.slice();
  for (let i = first; i < entries.length; i++) {
    const entry = entries[i] as HistoryEntry;
    if (entry.type !== "phase_gave_up" || !givesUpWithErrorBefore(entries, i)) continue;
    const { error: _shared, ...rest } = entry;
    stored[i] = { ...rest, errorAsBefore: true };
  }
  return JSON.stringify(stored);
}

/** Whether entry `i` gives up with the very error the entry before it failed with. */
function givesUpWithErrorBefore(entries: readonly HistoryEntry[], i: number): boolean {
  const entry = entries[i];
  const before = entries[i - 1];
  return entry?.type === "phase_gave_up" && before?.type === "attempt_failed" && entry.error === before.error;
}

/**
 * The entries of one stored row (parsed JSON of `historyToJson`, or of plain `JSON.stringify`),
 * each giving-up that refers to the error before it given that error again (the same object).
 * `what` names the row in the error thrown for one that refers to nothing.
 */
export function fromStoredEntries(entries: StoredEntry[], what: string): HistoryEntry[] {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as StoredEntry;
    if (entry.errorAsBefore !== true) continue;
    const before = entries[i - 1];
    if (entry.type !== "phase_gave_up" || before?.type !== "attempt_failed") {
      throw new StoreUnavailableError(`the store holds an entry in ${what} whose error refers to an entry before it that has none; restore the database from a backup`);
    }
    delete entry.errorAsBefore;
    entry.error = before.error;
  }
  return entries;
}

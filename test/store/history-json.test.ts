import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/domain/history.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { fromStoredEntries, historyToJson } from "../../src/store/history-json.js";
import { toStoredHistory } from "../../src/store/stored-rows.js";
import { planArb, rollbackArb, scriptArb, simulate, type Trace } from "../support/engine-sim.js";

const readBack = (entries: readonly HistoryEntry[]): HistoryEntry[] => fromStoredEntries(JSON.parse(historyToJson(entries)) as HistoryEntry[], "a test's row");

const boom = { name: "TerminalError", message: "out of stock", stack: "TerminalError: out of stock\n    at reserve (shop.ts:3:9)", code: "NO_STOCK" };
const failed: HistoryEntry = { type: "attempt_failed", atMs: 5, step: "reserve", phase: "action", attempt: 2, error: boom, timedOut: false };
const gaveUp: HistoryEntry = { type: "phase_gave_up", atMs: 5, step: "reserve", phase: "action", attempts: 2, error: boom };

describe("history JSON", () => {
  it("stores a giving-up's error once when it is the failure's before it, and reads it back as that error", () => {
    const entries = [failed, gaveUp, { type: "compensation_started", atMs: 5, reason: "step_failed", step: "reserve", order: [] } as HistoryEntry];
    const json = historyToJson(entries);
    expect(json.split("NO_STOCK").length - 1).toBe(1);
    expect(json).toContain('"errorAsBefore":true');
    const read = readBack(entries);
    expect(read).toEqual(entries);
    expect(read[1]).toMatchObject({ type: "phase_gave_up", error: boom });
    expect(read[1]).not.toHaveProperty("errorAsBefore");
  });

  it("writes the error out when it is another one, equal or not, or there is no failure just before", () => {
    for (const entries of [
      [failed, { ...gaveUp, error: { ...boom } }],
      [failed, { ...gaveUp, error: { name: "RecoveryLimitError", message: "died" } }],
      [gaveUp],
      [failed, { type: "attempt_started", atMs: 6, step: "reserve", phase: "action", attempt: 3 } as HistoryEntry, gaveUp],
    ]) {
      const json = historyToJson(entries);
      expect(json).toBe(JSON.stringify(entries));
      expect(readBack(entries)).toEqual(entries);
    }
  });

  it("reads rows written before, plain JSON arrays", () => {
    expect(toStoredHistory("saga-1", [{ seq: 1, worker_id: "w", epoch: 1, entries_json: JSON.stringify([failed, gaveUp]) }])).toEqual([
      { ...failed, seq: 1, workerId: "w", epoch: 1 },
      { ...gaveUp, seq: 2, workerId: "w", epoch: 1 },
    ]);
  });

  it("names the row when a giving-up refers to no failure before it", () => {
    const damaged = JSON.stringify([{ ...gaveUp, error: undefined, errorAsBefore: true }]);
    const read = (): unknown => toStoredHistory("saga-7", [{ seq: 4, worker_id: null, epoch: null, entries_json: damaged }]);
    expect(read).toThrow(StoreUnavailableError);
    expect(read).toThrow(/saga_history\.entries_json of saga-7 #4/);
  });

  it("keeps every write the engine makes, through retries, timeouts, crashes, cancels and compensation", () => {
    const check = (trace: Trace): void => {
      for (const { decision } of trace.fed) expect(readBack(decision.history)).toEqual(JSON.parse(JSON.stringify(decision.history)));
    };
    fc.assert(fc.property(planArb, scriptArb, (plan, script) => check(simulate(plan, script))), { numRuns: 150 });
    fc.assert(fc.property(rollbackArb, ({ plan, script }) => check(simulate(plan, script))), { numRuns: 150 });
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ErrorInfo } from "../../src/domain/error-info.js";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { createInitialState } from "../../src/engine/initial-state.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { stateToJson } from "../../src/store/state-json.js";
import { parseStoredState, type StateRow } from "../../src/store/stored-rows.js";
import { sagaPlan, stepPlan } from "../support/engine-fixtures.js";
import { planArb, rollbackArb, scriptArb, simulate } from "../support/engine-sim.js";
import { fullPhase, fullState } from "../support/full-state.js";

/** The row a store writes for `state`: its columns, and the JSON for the rest (or `json`, as an older row may hold). */
const rowOf = (state: SagaState, json = stateToJson(state)): StateRow => ({
  id: state.id,
  definition_name: state.definitionName,
  definition_version: state.definitionVersion,
  idempotency_key: state.idempotencyKey,
  status: state.status,
  created_at_ms: state.createdAtMs,
  updated_at_ms: state.updatedAtMs,
  state_json: json,
});
const roundTrip = (state: SagaState): SagaState => parseStoredState(rowOf(state), "a test's state");

describe("state JSON", () => {
  it("keeps every field of a state with everything set", () => {
    expect(roundTrip(fullState)).toStrictEqual(fullState);
  });

  it("keeps a phase that differs from a never-started one in any single field", () => {
    const untouched: PhaseState = { status: "pending", attempt: 0, failures: 0 };
    const variants: PhaseState[] = [
      { ...untouched, status: "running" },
      { ...untouched, attempt: 1 },
      { ...untouched, failures: 1 },
      { ...untouched, nextAttemptAtMs: 5 },
      { ...untouched, startedAtMs: 5 },
      { ...untouched, settledAtMs: 5 },
      { ...untouched, lastError: { name: "E", message: "m" } },
      { ...untouched, lastTimedOut: false },
      { ...untouched, deadlineAtMs: 5 },
    ];
    for (const phase of variants) {
      const state: SagaState = { ...fullState, steps: [{ name: "a", action: phase, compensation: untouched }, { name: "b", action: untouched, compensation: phase }] };
      expect(roundTrip(state)).toStrictEqual(state);
    }
  });

  it("leaves out what is still at its initial value, and reads it back", () => {
    const plan = sagaPlan([stepPlan("reserve"), stepPlan("charge"), stepPlan("ship")]);
    const { state } = createInitialState(plan, { id: "saga-2", input: { n: 1 }, idempotencyKey: null, nowMs: 1_000 });
    const json = stateToJson(state);
    expect(json).not.toContain('"compensation"');
    expect(json).not.toContain('"failures"');
    expect(json).not.toContain('"settledOrder"');
    expect(json).not.toContain('"recoveries"');
    expect(json.length).toBeLessThan(JSON.stringify(state).length / 2);
    expect(roundTrip(state)).toStrictEqual(state);
  });

  it("leaves out what the row keeps in columns, and reads those from the columns", () => {
    const fields = Object.keys(JSON.parse(stateToJson(fullState)) as object);
    for (const field of ["id", "definitionName", "definitionVersion", "idempotencyKey", "status", "createdAtMs", "updatedAtMs"]) {
      expect(fields).not.toContain(field);
    }
    // Kept: the row's wake-up column may be earlier than the state's, and its end time may differ.
    expect(fields).toContain("wakeAtMs");
    expect(fields).toContain("endedAtMs");
    // A row written in full reads its column fields from the columns, which queries filter on.
    const moved = { ...fullState, definitionVersion: fullState.definitionVersion + 1, status: "compensating" as const, updatedAtMs: fullState.updatedAtMs + 7 };
    expect(parseStoredState(rowOf(moved, JSON.stringify(fullState)), "an old row")).toStrictEqual(moved);
  });

  it("reads a state stored in full, as rows written before it was compacted hold", () => {
    expect(parseStoredState(rowOf(fullState, JSON.stringify(fullState)), "an old row")).toStrictEqual(fullState);
    const bare: SagaState = { ...fullState, steps: [{ name: "a", action: { status: "pending", attempt: 0, failures: 0 }, compensation: { status: "pending", attempt: 0, failures: 0 } }], settledOrder: [], compensationOrder: [], pivotPassed: false, recoveries: 0 };
    expect(parseStoredState(rowOf(bare, JSON.stringify(bare)), "an old row")).toStrictEqual(bare);
  });

  it("gives every phase read back the field order the engine's copies have", () => {
    const read = roundTrip({ ...fullState, steps: [{ name: "a", action: { status: "running", attempt: 1, failures: 0, startedAtMs: 5 }, compensation: { status: "pending", attempt: 0, failures: 0 } }] });
    expect(Object.keys(read.steps[0]?.action ?? {})).toStrictEqual(["status", "attempt", "failures", "startedAtMs"]);
    expect(Object.keys(read.steps[0]?.compensation ?? {})).toStrictEqual(["status", "attempt", "failures"]);
  });

  it("always writes text that parses, escaping strings and writing numbers as JSON.stringify does", () => {
    const odd: SagaState = {
      ...fullState,
      id: 'quote " back \\ slash \u2028 ✓',
      input: { nested: ["a", 1.5, null, { deep: "\n" }], emoji: "🧾" },
      steps: [{ name: 'n"ame', action: { ...fullPhase, deadlineAtMs: Number.NaN }, compensation: { status: "pending", attempt: 0, failures: 0 }, output: "out\"put" }],
      wakeAtMs: Number.POSITIVE_INFINITY,
    };
    const parsed = JSON.parse(stateToJson(odd)) as Record<string, unknown>;
    expect(roundTrip(odd).id).toBe(odd.id);
    expect(parsed.input).toStrictEqual(odd.input);
    expect(parsed.wakeAtMs).toBeNull();
    expect(parsed.steps).toStrictEqual([{ name: 'n"ame', action: { ...(JSON.parse(JSON.stringify(fullPhase)) as PhaseState), deadlineAtMs: null }, output: 'out"put' }]);
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (input, id) => {
        const state: SagaState = { ...fullState, id, input: input as SagaState["input"] };
        expect(roundTrip(state)).toStrictEqual(JSON.parse(JSON.stringify(state)));
      }),
    );
  });

  it("says which column is damaged when the text is not JSON", () => {
    const damaged = { ...rowOf(fullState), id: "saga-9", state_json: "{not json" };
    expect(() => parseStoredState(damaged)).toThrow(StoreUnavailableError);
    expect(() => parseStoredState(damaged)).toThrow(/saga_instances\.state_json of saga-9/);
  });

  describe("a stop's error", () => {
    const boom = { name: "TerminalError", message: "out of stock", stack: "TerminalError: out of stock\n    at reserve (shop.ts:3:9)", code: "NO_STOCK" };
    const stoppedBy = (error: ErrorInfo | undefined, phase: "action" | "compensation"): SagaState => {
      const failed: PhaseState = { status: "failed", attempt: 2, failures: 2, startedAtMs: 5, settledAtMs: 6, lastError: boom, lastTimedOut: false };
      const pending: PhaseState = { status: "pending", attempt: 0, failures: 0 };
      return {
        ...fullState,
        steps: [
          { name: "reserve", action: phase === "action" ? failed : { ...pending, status: "succeeded", attempt: 1 }, compensation: phase === "compensation" ? failed : pending },
          { name: "charge", action: pending, compensation: pending },
        ],
        stop: { reason: phase === "action" ? "step_failed" : "recovery_limit", step: "reserve", ...(error === undefined ? {} : { error }), atMs: 7 },
      };
    };

    const storedStop = (json: string): unknown => (JSON.parse(json) as { stop?: unknown }).stop;

    it("is written once when it is its step's last error, and read back as that same error", () => {
      for (const phase of ["action", "compensation"] as const) {
        const state = stoppedBy(boom, phase);
        const json = stateToJson(state);
        expect(json.split("NO_STOCK").length - 1).toBe(1);
        expect(storedStop(json)).toEqual({ reason: state.stop?.reason, step: "reserve", errorOf: phase, atMs: 7 });
        const read = roundTrip(state);
        expect(read).toStrictEqual(state);
        expect(read.stop?.error).toBe(read.steps[0]?.[phase].lastError);
      }
    });

    it("is written out when it is another error, even one equal to the step's", () => {
      for (const error of [{ ...boom }, { name: "DeadlineError", message: "too late" }]) {
        const state = stoppedBy(error, "action");
        const json = stateToJson(state);
        expect(storedStop(json)).toEqual({ reason: "step_failed", step: "reserve", error, atMs: 7 });
        expect(roundTrip(state)).toStrictEqual(state);
      }
      const none = stoppedBy(undefined, "action");
      expect(roundTrip(none)).toStrictEqual(none);
      const unnamed: SagaState = { ...stoppedBy(boom, "action"), stop: { reason: "step_failed", error: boom, atMs: 7 } };
      expect(storedStop(stateToJson(unnamed))).toEqual(unnamed.stop);
      expect(roundTrip(unnamed)).toStrictEqual(unnamed);
    });

    it("names the saga when the step it points to holds no error", () => {
      const json = stateToJson(stoppedBy(boom, "action")).replace('"errorOf":"action"', '"errorOf":"compensation"');
      const row = { ...rowOf(fullState, json), id: "saga-7" };
      expect(() => parseStoredState(row)).toThrow(StoreUnavailableError);
      expect(() => parseStoredState(row)).toThrow(/saga saga-7 .*step reserve's last compensation error/);
    });
  });

  it("keeps every state the engine reaches, through retries, timeouts, crashes, cancels and compensation", () => {
    const check = (states: SagaState[]): void => {
      for (const state of states) expect(roundTrip(state)).toStrictEqual(JSON.parse(JSON.stringify(state)));
    };
    fc.assert(
      fc.property(planArb, scriptArb, (plan, script) => {
        const trace = simulate(plan, script);
        check([...trace.fed.map((fed) => fed.decision.state), trace.final]);
      }),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(rollbackArb, ({ plan, script }) => {
        const trace = simulate(plan, script);
        check([...trace.fed.map((fed) => fed.decision.state), trace.final]);
      }),
      { numRuns: 150 },
    );
  });
});

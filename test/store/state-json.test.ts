import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { createInitialState } from "../../src/engine/initial-state.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { stateToJson } from "../../src/store/state-json.js";
import { parseStoredState } from "../../src/store/stored-rows.js";
import { sagaPlan, stepPlan } from "../support/engine-fixtures.js";
import { planArb, rollbackArb, scriptArb, simulate } from "../support/engine-sim.js";
import { fullPhase, fullState } from "../support/full-state.js";

const roundTrip = (state: SagaState): SagaState => parseStoredState(stateToJson(state), "a test's state");

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

  it("reads a state stored in full, as rows written before it was compacted hold", () => {
    expect(parseStoredState(JSON.stringify(fullState), "an old row")).toStrictEqual(fullState);
    const bare: SagaState = { ...fullState, steps: [{ name: "a", action: { status: "pending", attempt: 0, failures: 0 }, compensation: { status: "pending", attempt: 0, failures: 0 } }], settledOrder: [], compensationOrder: [], pivotPassed: false, recoveries: 0 };
    expect(parseStoredState(JSON.stringify(bare), "an old row")).toStrictEqual(bare);
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
    expect(parsed.id).toBe(odd.id);
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
    expect(() => parseStoredState("{not json", "saga_instances.state_json of saga-9")).toThrow(StoreUnavailableError);
    expect(() => parseStoredState("{not json", "saga_instances.state_json of saga-9")).toThrow(/saga_instances\.state_json of saga-9/);
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

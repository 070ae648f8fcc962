import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { appendExact, copyPhase, copyState, startedPhase, stepWith, succeededPhase } from "../../src/domain/copy-state.js";
import { fullPhase, fullState, fullStep } from "../support/full-state.js";

describe("copy-state", () => {
  it("copies every field of a state, each step array fresh and everything else shared", () => {
    const copy = copyState(fullState);
    expect(copy).toStrictEqual(fullState);
    expect(copy).not.toBe(fullState);
    expect(copy.steps).not.toBe(fullState.steps);
    expect(copy.steps[0]).toBe(fullState.steps[0]);
    expect(copy.settledOrder).toBe(fullState.settledOrder);
  });

  it("keeps every field of a step when building it anew, and copies every field of a phase", () => {
    const action = copyPhase(fullStep.action);
    const rebuilt = stepWith(fullStep, action, fullStep.compensation, fullStep.output);
    expect(rebuilt).toStrictEqual(fullStep);
    expect(rebuilt).not.toBe(fullStep);
    expect(rebuilt.action).toBe(action);
    expect(rebuilt.compensation).toBe(fullStep.compensation);
    expect(copyPhase(fullPhase)).toStrictEqual(fullPhase);
  });

  it("starts and settles a phase in new objects that keep every other field, the times in the literal", () => {
    const { nextAttemptAtMs: _retryAt, ...rest } = fullPhase;
    expect(startedPhase(fullPhase, 5_000)).toStrictEqual({ ...rest, status: "running", attempt: fullPhase.attempt + 1, startedAtMs: 5_000 });
    const { deadlineAtMs: _deadline, ...kept } = fullPhase;
    expect(succeededPhase(fullPhase, 7_000)).toStrictEqual({ ...kept, status: "succeeded", settledAtMs: 7_000 });
    const fresh = startedPhase({ status: "pending", attempt: 0, failures: 0 }, 1);
    expect(Object.keys(fresh)).toStrictEqual(["status", "attempt", "failures", "startedAtMs"]);
    expect(Object.keys(succeededPhase(fresh, 2))).toStrictEqual(["status", "attempt", "failures", "startedAtMs", "settledAtMs"]);
    expect(succeededPhase({ status: "running", attempt: 1, failures: 0 }, 2)).toStrictEqual({ status: "succeeded", attempt: 1, failures: 0, settledAtMs: 2 });
  });

  it("copies a state without the definition's hash (a state written before there was one) without adding it", () => {
    const { definitionHash: _hash, ...withoutHash } = fullState;
    const copy = copyState(withoutHash);
    expect(copy).toStrictEqual(withoutHash);
    expect("definitionHash" in copy).toBe(false);
  });

  it("adds no field that was not set", () => {
    const bare: SagaState = { ...fullState, steps: [], settledOrder: [], compensationOrder: [] };
    for (const key of ["definitionHash", "cancel", "stop", "outstanding", "deadlineAtMs", "abort", "resolution", "signals", "endedAtMs"] as const) {
      delete bare[key];
    }
    expect(Object.keys(copyState(bare)).sort()).toStrictEqual(Object.keys(bare).sort());
    const phase: PhaseState = { status: "pending", attempt: 0, failures: 0 };
    expect(Object.keys(copyPhase(phase))).toStrictEqual(["status", "attempt", "failures"]);
    expect(Object.keys(stepWith({ name: "a", action: phase, compensation: phase }, phase, phase, undefined))).toStrictEqual(["name", "action", "compensation"]);
  });

  it("appends into a new array of exactly the new length, leaving the input as it was", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 12 }), fc.integer({ min: 0, max: 99 }), (items, item) => {
        const before = items.slice();
        const appended = appendExact(items, item);
        expect(appended).toStrictEqual([...before, item]);
        expect(appended).not.toBe(items);
        expect(items).toStrictEqual(before);
      }),
    );
  });
});

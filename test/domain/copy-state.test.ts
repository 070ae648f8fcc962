import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { appendExact, copyPhase, copyState, copyStep } from "../../src/domain/copy-state.js";
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

  it("copies every field of a step and of both of its phases", () => {
    const copy = copyStep(fullStep);
    expect(copy).toStrictEqual(fullStep);
    expect(copy.action).not.toBe(fullStep.action);
    expect(copy.compensation).not.toBe(fullStep.compensation);
    expect(copyPhase(fullPhase)).toStrictEqual(fullPhase);
  });

  it("adds no field that was not set", () => {
    const bare: SagaState = { ...fullState, steps: [], settledOrder: [], compensationOrder: [] };
    for (const key of ["definitionHash", "cancel", "stop", "outstanding", "deadlineAtMs", "abort", "resolution", "signals", "endedAtMs"] as const) {
      delete bare[key];
    }
    expect(Object.keys(copyState(bare)).sort()).toStrictEqual(Object.keys(bare).sort());
    const phase: PhaseState = { status: "pending", attempt: 0, failures: 0 };
    expect(Object.keys(copyPhase(phase))).toStrictEqual(["status", "attempt", "failures"]);
    expect(Object.keys(copyStep({ name: "a", action: phase, compensation: phase }))).toStrictEqual(["name", "action", "compensation"]);
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

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PhaseState, SagaState, StepState } from "../../src/domain/state.js";
import { appendExact, copyPhase, copyState, copyStep } from "../../src/engine/copy-state.js";

// Typed `Required<…>`: a field added to a state type makes these stop compiling until they set
// it, and then the copies below fail until copy-state.ts copies it too.
const fullPhase: Required<PhaseState> = {
  status: "retrying",
  attempt: 3,
  failures: 2,
  nextAttemptAtMs: 1_700,
  startedAtMs: 1_500,
  settledAtMs: 1_600,
  lastError: { name: "Boom", message: "it broke" },
  lastTimedOut: true,
  deadlineAtMs: 1_900,
};

const fullStep: Required<StepState> = {
  name: "charge",
  action: fullPhase,
  compensation: { ...fullPhase, status: "pending" },
  output: { charged: 42 },
};

const fullState: Required<SagaState> = {
  id: "saga-1",
  definitionName: "order",
  definitionVersion: 2,
  definitionHash: "abc123",
  input: { n: 1 },
  idempotencyKey: "key-1",
  status: "failed",
  steps: [fullStep],
  settledOrder: [0],
  compensationOrder: [0],
  pivotPassed: true,
  cancel: { reason: "changed my mind", by: "ops", atMs: 1_000 },
  stop: { reason: "compensation_failed", step: "charge", error: { name: "Boom", message: "it broke" }, atMs: 1_100 },
  outstanding: [{ step: "charge", phase: "compensation" }],
  deadlineAtMs: 9_000,
  abort: { reason: "emergency", by: "ops", atMs: 1_200 },
  resolution: { reason: "fixed by hand", by: "ops", atMs: 1_300 },
  signals: [{ id: "sig-1", name: "approved", payload: true, by: "api", atMs: 1_400, consumedBy: "charge" }],
  recoveries: 1,
  wakeAtMs: null,
  createdAtMs: 900,
  updatedAtMs: 1_500,
  endedAtMs: 1_500,
};

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

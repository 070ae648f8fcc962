import type { PhaseState, SagaState, StepState } from "../../src/domain/state.js";

// Every field of each state type set, typed `Required<…>`: a field added to a state type makes
// these stop compiling until they set it, and then the tests that copy or store them
// (test/domain/copy-state.test.ts, test/store/state-json.test.ts) fail until their code keeps it too.
export const fullPhase: Required<PhaseState> = {
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

export const fullStep: Required<StepState> = {
  name: "charge",
  action: fullPhase,
  compensation: { ...fullPhase, status: "pending" },
  output: { charged: 42 },
};

export const fullState: Required<SagaState> = {
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
